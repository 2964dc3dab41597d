"""Run by ``torchrun --nproc_per_node=2`` in test_ssl_distributed: a few stage-1 steps on CPU.

Each rank writes the teacher and student weights it ends with, so the test can check that
the all-reduced feedback made every rank apply the same updates, and the validation scores it
got with the number of frames it predicted itself.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).parent))

import semifer.ssl.evaluate as evaluate  # noqa: E402
import semifer.ssl.loop as loop  # noqa: E402
import semifer.ssl.training as training  # noqa: E402
from semifer.ssl.task import TeacherStudentTask  # noqa: E402
from ssl_helpers import spatial_config, spatial_data  # noqa: E402

built = []
feedbacks: list[float] = []
validation = {"frames": 0, "macro_f1": []}


def counting(self, position):  # type: ignore[no-untyped-def]
    validation["frames"] += 1
    return real_frame(self, position)


def scoring(*args, **kwargs):  # type: ignore[no-untyped-def]
    report, undecodable = real_evaluate(*args, **kwargs)
    validation["macro_f1"].append(report.macro_f1)
    return report, undecodable


def recording(self, *args):  # type: ignore[no-untyped-def]
    logs = real_step(self, *args)
    feedbacks.append(float(logs["feedback/f"]))
    return logs


def keep(*args, **kwargs):  # type: ignore[no-untyped-def]
    network, spec = loop_build(*args, **kwargs)
    built.append(network)
    return network, spec


if __name__ == "__main__":
    out = Path(sys.argv[1])
    feedback = sys.argv[2]
    loop_build = loop.build_network
    loop.build_network = keep
    real_step = TeacherStudentTask.train_step
    TeacherStudentTask.train_step = recording
    real_frame = evaluate._Frames.__getitem__
    evaluate._Frames.__getitem__ = counting
    real_evaluate = training.evaluate
    training.evaluate = scoring
    config = spatial_config(out, steps=3, checkpoint_every=3, eval_every=3, **{"ssl.feedback": feedback})
    loop.train_spatial(config, progress=False, data=spatial_data())
    rank = int(os.environ["RANK"])
    for name, network in zip(("teacher", "student"), built):
        state = {k: v.contiguous() for k, v in network.model.module.state_dict().items()}
        save_file(state, str(out / f"{name}-rank{rank}.safetensors"))
    (out / f"feedback-rank{rank}.json").write_text(json.dumps(feedbacks))
    (out / f"validation-rank{rank}.json").write_text(json.dumps(validation))
