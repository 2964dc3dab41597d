"""The run folder, the same for every stage: one process per folder, one resume policy, resumable metrics.

Policy (``start_point``): a fresh folder starts at step 0; a folder holding checkpoints is
refused unless ``resume=true``, which continues from its latest checkpoint (or from step 0 when
a killed run left none); ``resume_from`` starts from a named checkpoint folder instead.

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

from semifer.checkpoint import STATE_FILE, atomic_write_text, latest_checkpoint, tidy_run_folder
from semifer.errors import CheckpointError, ConfigError, SemiferError

LOCK_FILE = ".lock"


class RunFolderBusyError(SemiferError):
    """Another live process trains in the same run folder."""


def checkpoints_of(run_dir: Path) -> Path:
    """Where a run keeps its ``step-XXXXXXXX`` checkpoints."""
    return Path(run_dir) / "checkpoints"


def start_point(run_dir: Path, resume: bool, resume_from: str = "") -> Path | None:
    """The checkpoint a run starts from, or None for step 0; refuses to overwrite a run."""
    if resume_from:
        folder = Path(resume_from)
        if not (folder / STATE_FILE).is_file():
            raise CheckpointError(f"resume_from={folder} holds no checkpoint (no {STATE_FILE})")
        return folder
    latest = latest_checkpoint(checkpoints_of(run_dir))
    if latest is not None and not resume:
        raise ConfigError(f"run_dir {run_dir} already holds checkpoints: pass resume=true or another run_dir")
    return latest


@contextmanager
def run_folder(run_dir: Path, is_main: bool = True) -> Iterator[None]:
    """Hold ``run_dir``'s lock (rank 0 only) and first tidy what a killed run left half done."""
    with run_lock(run_dir, enabled=is_main):
        if is_main:
            tidy_run_folder(Path(run_dir))
        yield


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
