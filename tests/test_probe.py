"""The HOG probe and the chance levels: formulas against simulation and scikit-learn."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from sklearn.metrics import f1_score

from semifer.data.base import FaceReader
from semifer.labels import NUM_CLASSES
from semifer.probe import chance_macro_f1, hog_features, hog_probe, majority_macro_f1
from semifer.ssl.data import FacePool


class StripeFaces(FaceReader):
    """Grey stripes at an angle set by the class (what HOG sees); item ``broken`` is not an image."""

    source = "memory"

    def __init__(self, labels: list[int], seed: int, broken: int = -1) -> None:
        self._labels = np.asarray(labels, dtype=np.int64)
        self.rng = np.random.default_rng(seed)
        self.phases = self.rng.uniform(0, 2 * np.pi, len(labels))
        self.broken = broken

    @property
    def labels(self) -> np.ndarray:
        return self._labels

    def read_bytes(self, index: int) -> bytes:
        if index == self.broken:
            return b"not an image"
        angle = np.pi * self._labels[index] / NUM_CLASSES
        rows, columns = np.mgrid[0:40, 0:40]
        wave = np.sin(0.8 * (columns * np.cos(angle) + rows * np.sin(angle)) + self.phases[index])
        grey = (127 + 100 * wave).astype(np.uint8)
        ok, data = cv2.imencode(".png", np.repeat(grey[:, :, None], 3, axis=2))
        assert ok
        return data.tobytes()

    def where(self, index: int) -> str:
        return f"memory#{index}"

    def key(self, index: int) -> str:
        return str(index)


def test_hog_probe_separates_stripe_angles_and_skips_broken_images() -> None:
    labels = [c for c in range(NUM_CLASSES) for _ in range(6)]
    training = StripeFaces(labels + [-1, -1], seed=0, broken=3)
    pool = FacePool([(training, np.arange(len(labels)))], labeled=True)  # the -1 items stay out
    validation = StripeFaces([-1] + labels, seed=1, broken=5)
    items = np.flatnonzero(validation.labels >= 0)
    report = hog_probe(pool, validation, items)
    assert report.frames == len(items) - 1
    assert report.macro_f1 > 0.9


def test_hog_features_are_900_values_per_decoded_face() -> None:
    faces = StripeFaces([0, 1, 2], seed=0, broken=1)
    features, kept = hog_features(faces, np.arange(3))
    assert features.shape == (2, 900) and kept.tolist() == [True, False, True]


def test_chance_is_the_expected_f1_of_a_uniform_guess() -> None:
    rng = np.random.default_rng(0)
    labels = rng.choice(NUM_CLASSES, size=200_000, p=[0.4, 0.2, 0.1, 0.1, 0.1, 0.05, 0.05, 0.0])
    guesses = rng.integers(0, NUM_CLASSES, size=labels.size)
    simulated = f1_score(labels, guesses, labels=range(NUM_CLASSES), average="macro", zero_division=0)
    assert chance_macro_f1(np.concatenate([labels, [-1, -1]])) == pytest.approx(simulated, abs=2e-3)
    assert chance_macro_f1(np.repeat(np.arange(NUM_CLASSES), 5)) == pytest.approx(1 / NUM_CLASSES)


def test_majority_matches_scikit_learn() -> None:
    labels = np.array([3, 3, 3, 1, 0, 7, 3, 2, -1])
    annotated = labels[labels >= 0]
    expected = f1_score(annotated, np.full_like(annotated, 3), labels=range(NUM_CLASSES), average="macro", zero_division=0)
    assert majority_macro_f1(labels) == pytest.approx(expected)


def test_chance_needs_annotated_labels() -> None:
    with pytest.raises(ValueError, match="no annotated labels"):
        chance_macro_f1(np.array([-1, -1]))
