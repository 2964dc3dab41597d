"""A short stage-2 run in a process of its own, for the lock and SIGKILL tests.

Usage: ``python temporal_worker.py CACHE RUN ACTION [key=value ...]`` where ACTION is

- ``run``: train to the end;
- ``hold``: write ``RUN.holding`` at the first step, then wait to be killed;
- ``kill-step:N``: SIGKILL at the start of training step N (1-based);
- ``kill-save:NAME:N``: SIGKILL inside the N-th save of folder NAME (``best`` or ``step``),
  once the first file of its staging folder is written.

A ``SemiferError`` is printed as one line with exit status 2, as the CLI does.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

import semifer.temporal.trainer as trainer  # noqa: E402
from kill_points import die, stop_in_save  # noqa: E402
from semifer.config import load_config  # noqa: E402
from semifer.errors import SemiferError  # noqa: E402
from semifer.temporal.config import TemporalConfig  # noqa: E402

SMALL = ["encoder.width=32", "encoder.heads=2", "encoder.feedforward=64", "encoder.layers=1", "clip_length=16",
         "stride=8", "inference_stride=8", "batch_size=8", "warmup_steps=5", "log_every=5", "lr=3e-3",
         "encoder.dropout=0.0", "epochs=2", "resume=true"]


def temporal_config(cache: Path, run: Path, *extra: str) -> TemporalConfig:
    return load_config(TemporalConfig, None, [f"features={cache}", f"run_dir={run}", *SMALL, *extra])


def stop_at_step(run: Path, action: str) -> None:
    real = trainer.masked_cross_entropy
    steps = [0]

    def loss(*args, **kwargs):  # type: ignore[no-untyped-def]
        steps[0] += 1
        if action == "hold":
            Path(f"{run}.holding").write_text(str(os.getpid()))
            time.sleep(600)
        elif steps[0] == int(action.split(":")[1]):
            die()
        return real(*args, **kwargs)

    trainer.masked_cross_entropy = loss


if __name__ == "__main__":
    cache, run, action = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    if action == "hold" or action.startswith("kill-step:"):
        stop_at_step(run, action)
    elif action.startswith("kill-save:"):
        _, name, count = action.split(":")
        stop_in_save(name, int(count))
    try:
        trainer.train_temporal(temporal_config(cache, run, *sys.argv[4:]), progress=False)
    except SemiferError as error:
        print(error, file=sys.stderr)
        sys.exit(2)
