"""Reference levels for a macro F1: a HOG linear probe and chance.

A stage-1 CNN's macro F1 means little on its own on synthetic data. ``hog_probe`` fits
class-balanced logistic regression on HOG descriptors of 48x48 grey faces, on exactly the
labeled pool stage 1 trains on, so a CNN row below it learned less than a linear model on
hand-made features did from the same labels. ``chance_macro_f1`` and ``majority_macro_f1``
are what guessing scores on the same validation labels.
"""

from __future__ import annotations

import logging
from typing import Protocol

import cv2
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from semifer.data.base import CorruptImageError, FaceReader
from semifer.labels import NUM_CLASSES
from semifer.metrics import F1Report
from semifer.ssl.data import FacePool

log = logging.getLogger(__name__)

HOG_SIZE = 48
_HOG = cv2.HOGDescriptor((HOG_SIZE, HOG_SIZE), (16, 16), (8, 8), (8, 8), 9)  # 900 values per face


class Faces(Protocol):
    """Anything that decodes item ``index`` to an RGB face (a ``FaceReader`` or a ``FacePool``)."""

    def load(self, index: int) -> np.ndarray: ...


def hog_features(faces: Faces, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """HOG of each item's face resized to 48x48 grey; returns ``(features, kept)``.

    ``kept`` marks the items that decoded: an undecodable image is skipped and counted, as
    stage 1's loaders do.
    """
    rows, kept = [], np.ones(len(items), dtype=bool)
    for position, index in enumerate(items):
        try:
            rgb = faces.load(int(index))
        except CorruptImageError as error:
            log.warning("skipped: %s", error)
            kept[position] = False
            continue
        grey = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (HOG_SIZE, HOG_SIZE), interpolation=cv2.INTER_AREA)
        rows.append(_HOG.compute(grey).ravel())
    features = np.asarray(rows, dtype=np.float32).reshape(len(rows), _HOG.getDescriptorSize())
    return features, kept


def fit_probe(features: np.ndarray, labels: np.ndarray) -> Pipeline:
    """Standardised, class-balanced logistic regression; C = 0.05 is the strong regularisation
    benchmarks/synth_difficulty.py has always used (900 features, a few thousand faces)."""
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=300, class_weight="balanced"))
    return model.fit(features, labels)


def hog_probe(labeled: FacePool, validation: FaceReader, items: np.ndarray) -> F1Report:
    """Fit the probe on every face of ``labeled`` and score it on ``validation``'s ``items``."""
    x_lb, kept = hog_features(labeled, np.arange(len(labeled)))
    model = fit_probe(x_lb, labeled.labels[kept])
    x_val, kept = hog_features(validation, items)
    return F1Report.from_labels(validation.labels[items[kept]], model.predict(x_val))


def class_shares(labels: np.ndarray) -> np.ndarray:
    """Share of each class among the annotated (non-negative) labels."""
    labels = np.asarray(labels)
    counts = np.bincount(labels[labels >= 0], minlength=NUM_CLASSES).astype(np.float64)
    if counts.sum() == 0:
        raise ValueError("no annotated labels")
    return counts / counts.sum()


def chance_macro_f1(labels: np.ndarray) -> float:
    """Expected macro F1 of guessing each frame's class uniformly at random.

    For class c with share p_c, precision is p_c and recall 1/8, so F1_c = 2 p_c / (8 p_c + 1);
    a class absent from the labels scores 0 and still counts, as in the ABAW metric.
    """
    shares = class_shares(labels)
    return float(np.mean(2 * shares / (NUM_CLASSES * shares + 1)))


def majority_macro_f1(labels: np.ndarray) -> float:
    """Macro F1 of predicting the most frequent class for every frame: F1 = 2p / (p + 1) for it,
    0 for the other seven."""
    share = class_shares(labels).max()
    return float(2 * share / (share + 1) / NUM_CLASSES)
