"""Checkpoints that survive a kill: safetensors for tensors, JSON for the rest, atomic writes.

Layout of one checkpoint folder ``<run>/checkpoints/step-00001000/``::

    <name>.safetensors   one file per group of tensors (``teacher``, ``student``, ``optimizer-teacher``...)
    state.json           step, metrics, RNG states, scheduler state: anything JSON-able

A checkpoint folder is written under a temporary name and renamed into place, so a reader
sees either the whole checkpoint or none of it. Nothing here unpickles anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from semifer.errors import CheckpointError

STATE_FILE = "state.json"
STEP_PREFIX = "step-"


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, path)


def atomic_write_json(path: Path, payload: Any) -> None:
    atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=True))


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """Save a flat dict of tensors as safetensors, atomically (contiguous CPU copies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp), metadata=metadata)
    os.replace(tmp, path)


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
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        for name, group in tensors.items():
            save_file({k: v.detach().cpu().contiguous() for k, v in group.items()}, str(staging / f"{name}.safetensors"))
        (staging / STATE_FILE).write_text(json.dumps(state, indent=2, sort_keys=True))
        for name, text in (extra_files or {}).items():
            (staging / name).write_text(text)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def load_checkpoint(folder: Path, groups: list[str]) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, Any]]:
    """Read the named tensor groups and ``state.json`` of a checkpoint folder."""
    state_path = folder / STATE_FILE
    if not state_path.is_file():
        raise CheckpointError(f"{folder} is not a checkpoint: no {STATE_FILE}")
    try:
        state = json.loads(state_path.read_text())
    except json.JSONDecodeError as error:
        raise CheckpointError(f"corrupt {state_path}: {error}") from None
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
    """Delete all but the ``keep_last`` newest step checkpoints."""
    for old in list_checkpoints(checkpoint_root)[:-keep_last] if keep_last > 0 else []:
        shutil.rmtree(old, ignore_errors=True)


def file_digest(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file: keys caches to the exact weights that produced them."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
