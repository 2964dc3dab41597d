"""SIGKILL at chosen moments, for the worker processes of the kill tests (a real kill, no mock)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import semifer.checkpoint as checkpoint


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def stop_in_save(name: str, count: int) -> None:
    """SIGKILL inside the ``count``-th save of checkpoint folder ``name`` (``best`` or ``step``),
    once the first file of its staging folder is written."""
    real = checkpoint.save_file
    seen: list[Path] = []

    def save_file(tensors, path, metadata=None):  # type: ignore[no-untyped-def]
        real(tensors, path, metadata=metadata)
        staging = Path(path).parent
        if staging.name.startswith(f".{name}") and staging not in seen:
            seen.append(staging)
            if len(seen) == count:
                die()

    checkpoint.save_file = save_file
