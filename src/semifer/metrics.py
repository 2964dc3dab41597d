"""Macro F1 over the ABAW classes, as pure functions on a confusion matrix.

As in torchmetrics, the confusion matrix is the one state; F1 scores are derived from it,
so a streaming evaluator only accumulates a matrix. Frames labeled -1 are excluded before
counting. A class with neither true nor predicted frames scores F1 = 0 and still counts in
the macro mean: ABAW averages over all 8 classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from semifer.labels import NUM_CLASSES, UNLABELED


def confusion_matrix(
    targets: np.ndarray, predictions: np.ndarray, num_classes: int = NUM_CLASSES
) -> np.ndarray:
    """Counts ``[true, predicted]`` over the frames whose target is not ``UNLABELED``."""
    targets = np.asarray(targets, dtype=np.int64).ravel()
    predictions = np.asarray(predictions, dtype=np.int64).ravel()
    if targets.shape != predictions.shape:
        raise ValueError(f"{targets.size} targets but {predictions.size} predictions")
    keep = targets != UNLABELED
    targets, predictions = targets[keep], predictions[keep]
    for name, values in (("target", targets), ("prediction", predictions)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{name} labels must lie in 0..{num_classes - 1}")
    flat = np.bincount(targets * num_classes + predictions, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def per_class_f1(matrix: np.ndarray) -> np.ndarray:
    """F1 of each class from a confusion matrix; 0 where a class has no true or predicted frame."""
    matrix = np.asarray(matrix, dtype=np.float64)
    true_positive = np.diag(matrix)
    denominator = matrix.sum(axis=0) + matrix.sum(axis=1)  # = 2TP + FP + FN
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, 2.0 * true_positive / denominator, 0.0)


def macro_f1_from_matrix(matrix: np.ndarray) -> float:
    return float(per_class_f1(matrix).mean())


def macro_f1(targets: np.ndarray, predictions: np.ndarray, num_classes: int = NUM_CLASSES) -> float:
    """The ABAW EXPR metric: unweighted mean of the per-class F1 over all classes."""
    return macro_f1_from_matrix(confusion_matrix(targets, predictions, num_classes))


@dataclass
class F1Report:
    """Everything the evaluation prints: macro F1, per-class F1, the matrix and the frame count."""

    macro_f1: float
    per_class: np.ndarray
    matrix: np.ndarray

    @property
    def frames(self) -> int:
        return int(self.matrix.sum())

    @classmethod
    def from_labels(cls, targets: np.ndarray, predictions: np.ndarray) -> "F1Report":
        matrix = confusion_matrix(targets, predictions)
        return cls(macro_f1_from_matrix(matrix), per_class_f1(matrix), matrix)

    def as_dict(self) -> dict[str, object]:
        from semifer.labels import ABAW_CLASSES

        return {
            "macro_f1": self.macro_f1,
            "frames": self.frames,
            "per_class_f1": dict(zip(ABAW_CLASSES, map(float, self.per_class))),
            "confusion_matrix": self.matrix.tolist(),
        }
