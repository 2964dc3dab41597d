"""What a stage-1 run logs per interval: means of the step's numbers, f's sign, pseudo-labels.

Everything is summed as tensors on the run's device and read back only when the interval's row
is written (every ``log_every`` steps), so a GPU step never waits on the host. The one
collective (skipped images, summed over ranks) runs on a device tensor, as nccl requires.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from semifer.labels import ABAW_CLASSES, NUM_CLASSES
from semifer.runs.distributed import all_reduce_sum

PSEUDO_LABELS = "pseudo_labels"


class IntervalStats:
    """Accumulates one logging interval: means, f's sign share, pseudo-label histogram/accuracy."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.reset()

    def reset(self) -> None:
        zero = torch.zeros((), device=self.device)
        self.sums: dict[str, torch.Tensor] = {}
        self.steps = 0
        self.f_positive = zero.clone()
        self.counts = torch.zeros(NUM_CLASSES, dtype=torch.long, device=self.device)
        self.correct = zero.clone()
        self.judged = 0
        self.skipped = 0
        self.images = 0
        self.started = time.perf_counter()

    def add(self, logs: dict[str, torch.Tensor], images: int, skipped: int, truth: np.ndarray | None) -> None:
        self.steps += 1
        self.images += images
        self.skipped += skipped
        for key, value in logs.items():
            if key != PSEUDO_LABELS:  # summed where it lives: learning rates are CPU scalars
                value = value.detach().float()
                self.sums[key] = self.sums[key] + value if key in self.sums else value
        if "feedback/f" in logs and "loss/unlabeled" in logs:
            self.f_positive += (logs["feedback/f"].detach() > 0).float()
        if PSEUDO_LABELS in logs:
            labels = logs[PSEUDO_LABELS]
            self.counts += torch.bincount(labels, minlength=NUM_CLASSES)
            if truth is not None:
                self.correct += (labels == torch.as_tensor(truth, device=labels.device)).sum()
                self.judged += len(truth)

    @property
    def histogram(self) -> np.ndarray:
        """Pseudo-labels per class over the interval."""
        return self.counts.cpu().numpy()

    def summary(self, world: int) -> dict[str, float]:
        """Interval means (losses, f, lrs...), plus images/s over all ranks and skipped images."""
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        skipped = int(all_reduce_sum(torch.tensor(self.skipped, device=self.device)))
        row = {key: float(total) / max(self.steps, 1) for key, total in self.sums.items()}
        row["images_per_s"] = self.images * world / elapsed
        row["skipped_images"] = skipped
        if "feedback/f" in self.sums and "loss/unlabeled" in self.sums:
            row["feedback/f_positive_share"] = float(self.f_positive) / max(self.steps, 1)
        histogram = self.histogram
        if histogram.sum():
            shares = histogram / histogram.sum()
            row.update({f"pseudo/class_share/{name}": float(s) for name, s in zip(ABAW_CLASSES, shares)})
        if self.judged:
            row["pseudo/accuracy"] = float(self.correct) / self.judged
        return row
