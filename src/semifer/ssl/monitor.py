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
MOSTLY_RIGHT = 0.5  # a step's pseudo-labels are "mostly right" when at least this share is the true class


class IntervalStats:
    """Accumulates one logging interval: the mean of each logged number over the steps that
    logged it, f's sign share, and the pseudo-labels' histogram and, when true classes are
    known, their confusion matrix and f on steps whose labels were mostly right or wrong."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.reset()

    def reset(self) -> None:
        zero = torch.zeros((), device=self.device)
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}
        self.steps = 0
        self.f_positive = zero.clone()
        self.student_steps = 0
        self.histogram_counts = torch.zeros(NUM_CLASSES, dtype=torch.long, device=self.device)
        self.confusion = torch.zeros(NUM_CLASSES * NUM_CLASSES, dtype=torch.long, device=self.device)  # (true, pseudo)
        self.f_by_rightness = torch.zeros(2, device=self.device)  # f summed over mostly wrong, mostly right steps
        self.steps_by_rightness = torch.zeros(2, device=self.device)
        self.skipped = 0
        self.images = 0
        self.started = time.perf_counter()

    def add(self, logs: dict[str, torch.Tensor], images: int, skipped: int, truth: np.ndarray | None = None) -> None:
        self.steps += 1
        self.images += images
        self.skipped += skipped
        for key, value in logs.items():
            if key != PSEUDO_LABELS:  # summed where it lives: learning rates are CPU scalars
                value = value.detach().float()
                self.sums[key] = self.sums[key] + value if key in self.sums else value
                self.counts[key] = self.counts.get(key, 0) + 1
        student_on = "feedback/f" in logs and "loss/unlabeled" in logs
        if student_on:
            self.student_steps += 1
            self.f_positive += (logs["feedback/f"].detach() > 0).float()
        if PSEUDO_LABELS not in logs:
            return
        labels = logs[PSEUDO_LABELS]
        self.histogram_counts += torch.bincount(labels, minlength=NUM_CLASSES)
        if truth is None:
            return
        true = torch.as_tensor(truth, device=labels.device)
        self.confusion += torch.bincount(true * NUM_CLASSES + labels, minlength=NUM_CLASSES * NUM_CLASSES)
        if student_on:
            right = ((labels == true).float().mean() >= MOSTLY_RIGHT).long()
            self.f_by_rightness[right] += logs["feedback/f"].detach().float()
            self.steps_by_rightness[right] += 1

    @property
    def histogram(self) -> np.ndarray:
        """Pseudo-labels per class over the interval."""
        return self.histogram_counts.cpu().numpy()

    def summary(self, world: int) -> dict[str, float]:
        """Interval means (losses, f, lrs, the loop's agreements...), images/s over all ranks,
        skipped images, and what the pseudo-labels were."""
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        skipped = int(all_reduce_sum(torch.tensor(self.skipped, device=self.device)))
        row = {key: float(total) / self.counts[key] for key, total in self.sums.items()}
        row["images_per_s"] = self.images * world / elapsed
        row["skipped_images"] = skipped
        if self.student_steps:
            row["feedback/f_positive_share"] = float(self.f_positive) / self.student_steps
        histogram = self.histogram
        if histogram.sum():
            shares = histogram / histogram.sum()
            row.update({f"pseudo/class_share/{name}": float(s) for name, s in zip(ABAW_CLASSES, shares)})
        row.update(_judged(self.confusion.cpu().numpy().reshape(NUM_CLASSES, NUM_CLASSES)))
        steps = self.steps_by_rightness.cpu().numpy()
        f_sums = self.f_by_rightness.cpu().numpy()
        for index, name in enumerate(("mostly_wrong", "mostly_right")):
            if steps[index]:
                row[f"feedback/f_{name}"] = float(f_sums[index] / steps[index])
        if steps.sum():
            row["feedback/mostly_right_share"] = float(steps[1] / steps.sum())
        return row


def _judged(confusion: np.ndarray) -> dict[str, float]:
    """Accuracy, and per-class precision and recall, of pseudo-labels against true classes
    (rows: true class); a class neither given nor present has neither."""
    if not confusion.sum():
        return {}
    row = {"pseudo/accuracy": float(np.trace(confusion) / confusion.sum())}
    right = np.diag(confusion)
    for number, name in enumerate(ABAW_CLASSES):
        given, present = confusion[:, number].sum(), confusion[number].sum()
        if given:
            row[f"pseudo/precision/{name}"] = float(right[number] / given)
        if present:
            row[f"pseudo/recall/{name}"] = float(right[number] / present)
    return row
