"""One rank of a torchrun stage-2 run: trains, then saves the weights it ended with and the clips it saw.

Usage: ``torchrun --nproc_per_node N temporal_ddp_worker.py CACHE RUN``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from safetensors.torch import save_file  # noqa: E402

import semifer.temporal.trainer as trainer  # noqa: E402
from semifer.runs.distributed import unwrap  # noqa: E402

from temporal_worker import temporal_config  # noqa: E402

if __name__ == "__main__":
    cache, run = Path(sys.argv[1]), Path(sys.argv[2])
    rank = int(os.environ["RANK"])
    tasks: list[trainer.TemporalTask] = []
    real_init = trainer.TemporalTask.__init__

    def keep(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        real_init(self, *args, **kwargs)
        tasks.append(self)

    trainer.TemporalTask.__init__ = keep  # type: ignore[method-assign]
    trainer.train_temporal(temporal_config(cache, run), progress=False)
    task = tasks[0]
    weights = {k: v.contiguous() for k, v in unwrap(task.networks["temporal"].model).state_dict().items()}
    save_file(weights, str(run.parent / f"rank{rank}.safetensors"))
    order = list(task._epoch_batches(0, 0))
    (run.parent / f"clips-rank{rank}.json").write_text(json.dumps({"batches": len(order), "steps": task.steps_per_epoch}))
