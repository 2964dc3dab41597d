"""What a stage-1 run logs: per-interval means of the step's numbers, JSONL and TensorBoard.

Numbers are gathered as tensors each step and turned into floats only at log time, so a GPU
step does not wait on the host every iteration.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from semifer.labels import ABAW_CLASSES, NUM_CLASSES
from semifer.runfolder import drop_metrics_after
from semifer.ssl.distributed import all_reduce_sum

PSEUDO_LABELS = "pseudo_labels"


class IntervalStats:
    """Accumulates one logging interval: means, f's sign share, pseudo-label histogram/accuracy."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.steps = 0
        self.f_positive = 0.0
        self.histogram = np.zeros(NUM_CLASSES, dtype=np.int64)
        self.correct = 0
        self.judged = 0
        self.skipped = 0
        self.images = 0
        self.started = time.perf_counter()

    def add(self, logs: dict[str, torch.Tensor], images: int, skipped: int, truth: np.ndarray | None) -> None:
        self.steps += 1
        self.images += images
        self.skipped += skipped
        for key, value in logs.items():
            if key != PSEUDO_LABELS:
                self.sums[key] = self.sums.get(key, 0) + value.detach().float().cpu()
        if "feedback/f" in logs and "loss/unlabeled" in logs:
            self.f_positive += float(logs["feedback/f"] > 0)
        if PSEUDO_LABELS in logs:
            labels = logs[PSEUDO_LABELS].cpu().numpy()
            self.histogram += np.bincount(labels, minlength=NUM_CLASSES)
            if truth is not None:
                self.correct += int((labels == truth).sum())
                self.judged += len(truth)

    def summary(self, world: int) -> dict[str, float]:
        """Interval means (losses, f, lrs...), plus images/s over all ranks and skipped images."""
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        skipped = int(all_reduce_sum(torch.tensor(self.skipped)))
        row = {key: float(total) / max(self.steps, 1) for key, total in self.sums.items()}
        row["images_per_s"] = self.images * world / elapsed
        row["skipped_images"] = skipped
        if "feedback/f" in self.sums and "loss/unlabeled" in self.sums:
            row["feedback/f_positive_share"] = self.f_positive / max(self.steps, 1)
        if self.histogram.sum():
            shares = self.histogram / self.histogram.sum()
            row.update({f"pseudo/class_share/{name}": float(s) for name, s in zip(ABAW_CLASSES, shares)})
        if self.judged:
            row["pseudo/accuracy"] = self.correct / self.judged
        return row


class MetricsWriter:
    """``metrics.jsonl`` (one object per row, with ``step``) and TensorBoard scalars under ``tb/``."""

    def __init__(self, run_dir: Path, resume_step: int) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.path = run_dir / "metrics.jsonl"
        drop_metrics_after(self.path, resume_step)
        self.tensorboard = SummaryWriter(str(run_dir / "tb"), purge_step=resume_step + 1)

    def write(self, step: int, row: dict[str, Any]) -> None:
        with open(self.path, "a") as handle:
            handle.write(json.dumps({"step": step, **row}, sort_keys=True) + "\n")
        for key, value in row.items():
            if isinstance(value, int | float):
                self.tensorboard.add_scalar(key, value, step)

    def histogram(self, step: int, counts: np.ndarray) -> None:
        if counts.sum():
            values = np.repeat(np.arange(len(counts)), counts)
            self.tensorboard.add_histogram("pseudo/labels", values, step, bins=np.arange(len(counts) + 1) - 0.5)

    def close(self) -> None:
        self.tensorboard.close()
