"""A short stage-1 run in a process of its own, for the lock and SIGKILL tests.

Usage: ``python spatial_worker.py OUT ACTION [key=value ...]`` where ACTION is

- ``run``: train to the end;
- ``hold``: write ``OUT/holding`` at the first step, then wait to be killed;
- ``kill-step:N``: SIGKILL at the start of step N;
- ``kill-save:NAME:N``: SIGKILL inside the N-th save of folder NAME (``best`` or ``step``),
  once the first file of its staging folder is written.

A ``SemiferError`` is printed as one line with exit status 2, as the CLI does.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[1])]

from semifer.errors import SemiferError  # noqa: E402
from semifer.ssl.loop import train_spatial  # noqa: E402
from semifer.ssl.task import SupervisedTask, TeacherStudentTask  # noqa: E402
from kill_points import die, stop_in_save  # noqa: E402
from ssl_helpers import spatial_config, spatial_data  # noqa: E402


def stop_at_step(out: Path, action: str) -> None:
    for task in (TeacherStudentTask, SupervisedTask):
        real = task.train_step

        def step(self, *args, real=real):  # type: ignore[no-untyped-def]
            if action == "hold":
                (out / "holding").write_text(str(os.getpid()))
                time.sleep(600)
            elif args[4 if len(args) > 3 else 2] == int(action.split(":")[1]):  # the step argument
                die()
            return real(self, *args)

        task.train_step = step  # type: ignore[method-assign]


if __name__ == "__main__":
    out, action = Path(sys.argv[1]), sys.argv[2]
    overrides = dict(item.split("=", 1) for item in sys.argv[3:])
    if action == "hold" or action.startswith("kill-step:"):
        stop_at_step(out, action)
    elif action.startswith("kill-save:"):
        _, name, count = action.split(":")
        stop_in_save(name, int(count))
    try:
        train_spatial(spatial_config(out, **overrides), progress=False, data=spatial_data())
    except SemiferError as error:
        print(error, file=sys.stderr)
        sys.exit(2)
