"""Checkpoints that survive a kill: safetensors for tensors, JSON for the rest, atomic writes.

Layout of one checkpoint folder ``<run>/checkpoints/step-00001000/``::

    <name>.safetensors   one file per group of tensors (``teacher``, ``student``, ``optimizer-teacher``...)
    state.json           step, metrics, RNG states, scheduler state: anything JSON-able

A checkpoint folder is written under a hidden temporary name (``.<name>.XXXXXXXX.tmp``) and
renamed into place, so a reader sees either the whole checkpoint or none of it. Replacing a
folder moves the old one aside (``.<name>.old``) first and deletes it last, and pruning hides
a folder (``.<name>.deleted``) before deleting it, so a kill at any moment leaves a whole
checkpoint under every visible name; ``tidy_run_folder`` then finishes or undoes what the
kill interrupted. Nothing here unpickles anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from semifer.errors import CheckpointError

STATE_FILE = "state.json"
STEP_PREFIX = "step-"
STAGING_SUFFIX = ".tmp"
ASIDE_SUFFIX = ".old"
DELETED_SUFFIX = ".deleted"


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yields a hidden temporary path beside ``path`` for the caller to write; renamed onto
    ``path`` when the block ends, deleted if it raises. A reader never sees a half-written file.

    The temporary name keeps ``path``'s suffix, for writers that pick the format from it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    with atomic_path(path) as temporary:
        temporary.write_text(text)


def atomic_write_json(path: Path, payload: Any) -> None:
    atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=True))


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """Save a flat dict of tensors as safetensors, atomically (contiguous CPU copies)."""
    with atomic_path(path) as temporary:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(temporary), metadata=metadata)


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Load a safetensors file, turning a missing or corrupt file into ``CheckpointError``."""
    if not path.is_file():
        raise CheckpointError(f"missing checkpoint file: {path}")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"corrupt checkpoint file {path}: {error}") from None


def save_checkpoint(
    folder: Path,
    tensors: dict[str, dict[str, torch.Tensor]],
    state: dict[str, Any],
    extra_files: dict[str, str] | None = None,
) -> Path:
    """Write one checkpoint folder atomically; returns its final path.

    ``tensors`` maps a group name to a flat tensor dict (``model.state_dict()`` or an
    optimizer state flattened by the caller); ``state`` must be JSON-serialisable;
    ``extra_files`` maps file names to text (e.g. the resolved ``config.yaml``).
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=STAGING_SUFFIX))
    try:
        for name, group in tensors.items():
            save_file({k: v.detach().cpu().contiguous() for k, v in group.items()}, str(staging / f"{name}.safetensors"))
        (staging / STATE_FILE).write_text(json.dumps(state, indent=2, sort_keys=True))
        for name, text in (extra_files or {}).items():
            (staging / name).write_text(text)
        _sync_folder(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    aside = _hidden(folder, ASIDE_SUFFIX)
    if folder.exists():
        shutil.rmtree(aside, ignore_errors=True)
        os.replace(folder, aside)
    os.replace(staging, folder)
    _sync_folder(folder.parent, files=False)
    shutil.rmtree(aside, ignore_errors=True)
    return folder


def _hidden(folder: Path, suffix: str) -> Path:
    return folder.parent / f".{folder.name}{suffix}"


def _sync_folder(folder: Path, files: bool = True) -> None:
    """fsync a folder's files and the folder itself, so a rename never outruns the data."""
    paths = [p for p in folder.iterdir() if p.is_file()] if files else []
    for path in [*paths, folder]:
        handle = os.open(path, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def tidy_checkpoint_parent(parent: Path) -> None:
    """Finish or undo the replacements and deletions that a kill interrupted in ``parent``.

    An old folder moved aside comes back when its replacement never arrived, and is deleted
    otherwise; half-written staging folders and hidden half-deleted ones go. Call it only
    while holding the run lock: a live writer's staging folder looks the same.
    """
    if not parent.is_dir():
        return
    for hidden in sorted(p for p in parent.iterdir() if p.name.startswith(".") and p.is_dir()):
        if hidden.name.endswith(ASIDE_SUFFIX):
            folder = parent / hidden.name[1 : -len(ASIDE_SUFFIX)]
            if not (folder / STATE_FILE).is_file() and (hidden / STATE_FILE).is_file():
                shutil.rmtree(folder, ignore_errors=True)
                os.replace(hidden, folder)
                continue
        if hidden.name.endswith((ASIDE_SUFFIX, STAGING_SUFFIX, DELETED_SUFFIX)) or _legacy_staging(hidden.name):
            shutil.rmtree(hidden, ignore_errors=True)


def _legacy_staging(name: str) -> bool:
    """Staging folders of earlier versions: ``.<name>.XXXXXXXX`` with no suffix."""
    stem, _, tail = name[1:].rpartition(".")
    return bool(stem) and len(tail) == 8 and (stem == "best" or stem.startswith(STEP_PREFIX))


def tidy_run_folder(run_dir: Path) -> None:
    """``tidy_checkpoint_parent`` on a run folder (``best/``) and its ``checkpoints/``."""
    tidy_checkpoint_parent(Path(run_dir))
    tidy_checkpoint_parent(Path(run_dir) / "checkpoints")


def read_json(folder: Path, name: str, what: str = "checkpoint") -> dict[str, Any]:
    """The JSON object in ``folder/name``; a ``CheckpointError`` naming the file when it is
    missing (``folder`` is then not a ``what``), unreadable or not an object."""
    path = Path(folder) / name
    if not path.is_file():
        raise CheckpointError(f"{folder} is not a {what}: no {name}")
    try:
        value = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"corrupt {path}: {error}") from None
    if not isinstance(value, dict):
        raise CheckpointError(f"corrupt {path}: not a JSON object")
    return value


def load_checkpoint(folder: Path, groups: list[str]) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, Any]]:
    """Read the named tensor groups and ``state.json`` of a checkpoint folder."""
    state = read_json(folder, STATE_FILE)
    return {name: load_tensors(folder / f"{name}.safetensors") for name in groups}, state


def step_folder(checkpoint_root: Path, step: int) -> Path:
    return checkpoint_root / f"{STEP_PREFIX}{step:08d}"


def list_checkpoints(checkpoint_root: Path) -> list[Path]:
    """Complete step checkpoints under ``checkpoint_root``, oldest first."""
    if not checkpoint_root.is_dir():
        return []
    found = [p for p in checkpoint_root.glob(f"{STEP_PREFIX}*") if (p / STATE_FILE).is_file()]
    return sorted(found, key=lambda p: p.name)


def latest_checkpoint(checkpoint_root: Path) -> Path | None:
    found = list_checkpoints(checkpoint_root)
    return found[-1] if found else None


def prune_checkpoints(checkpoint_root: Path, keep_last: int) -> None:
    """Delete all but the ``keep_last`` newest step checkpoints (hidden first, then deleted)."""
    for old in list_checkpoints(checkpoint_root)[:-keep_last] if keep_last > 0 else []:
        hidden = _hidden(old, DELETED_SUFFIX)
        os.replace(old, hidden)
        shutil.rmtree(hidden, ignore_errors=True)


def file_digest(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file: keys caches to the exact weights that produced them."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
