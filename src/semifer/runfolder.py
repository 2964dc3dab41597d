"""Run-folder conventions shared by both stages: one process per folder, resumable metrics.

The lock is an OS file lock (``fcntl.flock``) on ``<run>/.lock``, held for the whole run.
Such a lock belongs to the open file, so the kernel drops it when the process dies, however
it dies (SIGKILL included): a killed run never leaves a stale lock to clear by hand, and the
next ``resume=true`` takes the folder at once.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from semifer.checkpoint import atomic_write_text
from semifer.errors import SemiferError

LOCK_FILE = ".lock"


class RunFolderBusyError(SemiferError):
    """Another live process trains in the same run folder."""


@contextmanager
def run_lock(run_dir: Path, enabled: bool = True) -> Iterator[None]:
    """Hold the lock of ``run_dir`` (created if needed) until the block ends.

    ``enabled=False`` (ranks other than 0 under torchrun, which share rank 0's folder) does
    nothing. A second process gets ``RunFolderBusyError`` naming the folder and the holder.
    """
    if not enabled:
        yield
        return
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    handle = open(run_dir / LOCK_FILE, "a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise RunFolderBusyError(
            f"run folder {run_dir} is in use by another run (process {holder}); wait for it to end or pick another run_dir"
        ) from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()


def drop_metrics_after(path: Path, step: int) -> None:
    """Keep the ``metrics.jsonl`` rows up to ``step``, the step a run resumes from.

    The rows a killed run logged after its last checkpoint are logged again by the resumed
    run, so no step appears twice. A torn last line (killed mid-write) goes too.
    """
    if not path.is_file():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if row.get("step", 0) <= step:
            kept.append(line + "\n")
    atomic_write_text(path, "".join(kept))
