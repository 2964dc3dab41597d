"""What a run logs: one JSON object per row in ``metrics.jsonl``, and TensorBoard scalars under ``tb/``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from semifer.runs.folder import drop_metrics_after


class MetricsWriter:
    """Appends rows (each with its ``step``); on resume, first drops the rows a killed run
    logged after its checkpoint, so no step appears twice in either file."""

    def __init__(self, run_dir: Path, resume_step: int) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.path = Path(run_dir) / "metrics.jsonl"
        drop_metrics_after(self.path, resume_step)
        self.tensorboard = SummaryWriter(str(Path(run_dir) / "tb"), purge_step=resume_step + 1)

    def write(self, step: int, row: dict[str, Any]) -> None:
        with open(self.path, "a") as handle:
            handle.write(json.dumps({"step": step, **row}, sort_keys=True) + "\n")
        for key, value in row.items():
            if isinstance(value, int | float):
                self.tensorboard.add_scalar(key, value, step)

    def histogram(self, tag: str, step: int, counts: np.ndarray) -> None:
        """A histogram of class indices given as per-class counts."""
        if counts.sum():
            values = np.repeat(np.arange(len(counts)), counts)
            self.tensorboard.add_histogram(tag, values, step, bins=np.arange(len(counts) + 1) - 0.5)

    def close(self) -> None:
        self.tensorboard.close()
