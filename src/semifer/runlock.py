"""One training process per run folder: an OS file lock on ``<run>/.lock``, held for the run.

``fcntl.flock`` locks belong to the open file, so the kernel drops the lock when the process
dies, however it dies (SIGKILL included): a killed run never leaves a stale lock to clear
by hand, and the next ``resume=true`` takes the folder at once.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
