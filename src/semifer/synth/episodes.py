"""Expression dynamics of a video: episodes with onset, apex and offset, and per-frame labels.

A video is a sequence of segments. Neutral segments hold the resting face; an expression
episode ramps its AUs up (onset), holds them (apex) and lets them go (offset). Frames are
labeled with the episode's class while the expression is visible at all (envelope >= 0.2),
so the weak onset and offset frames carry the label too: telling them apart needs the
temporal context that stage 2 adds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from semifer.labels import NUM_CLASSES, UNLABELED
from semifer.synth.aus import (
    NEUTRAL,
    NUM_AUS,
    background_aus,
    expression_aus,
    sample_intensity,
)

# Share of annotated frames per ABAW class in the real Aff-Wild2 EXPR training set (rounded):
# Neutral and Other dominate, Fear and Disgust are rare.
VIDEO_CLASS_SHARE = np.array([0.30, 0.035, 0.02, 0.015, 0.16, 0.13, 0.05, 0.29])
LABEL_THRESHOLD = 0.2  # envelope from which an episode frame carries the episode's class


@dataclass(frozen=True)
class Timeline:
    """The truth of one video, frame by frame."""

    classes: np.ndarray  # (frames,) true ABAW class
    aus: np.ndarray  # (frames, 12) AU intensities
    envelope: np.ndarray  # (frames,) expression strength relative to the episode's apex


def smooth_walk(rng: np.random.Generator, length: int, scale: float, width: int) -> np.ndarray:
    """Slowly varying zero-mean signal with standard deviation about ``scale``."""
    noise = rng.normal(0.0, 1.0, length + 2 * width)
    kernel = np.hanning(2 * width + 1)
    smooth = np.convolve(noise, kernel / np.sqrt((kernel**2).sum()), mode="same")[
        width : width + length
    ]
    return scale * smooth


def _envelope(length: int, rng: np.random.Generator) -> np.ndarray:
    """Onset ramp, apex plateau, offset ramp (smoothstep), peaking at 1."""
    ramp = max(2, min(length // 3, int(rng.integers(8, 26))))
    fall = max(2, min(length // 3, int(rng.integers(8, 26))))
    env = np.ones(length)
    up = np.linspace(0, 1, ramp, endpoint=False)
    down = np.linspace(1, 0, fall)
    env[:ramp] = up * up * (3 - 2 * up)
    env[length - fall :] = down * down * (3 - 2 * down)
    return env


def _segment_classes(
    count: int, rng: np.random.Generator, bias: np.ndarray, forced: Sequence[int]
) -> list[int]:
    """Class of each segment; ``forced`` classes take one segment each while segments last."""
    classes = [int(c) for c in rng.choice(NUM_CLASSES, size=count, p=bias)]
    slots = rng.permutation(count)
    for slot, cls in zip(slots, forced, strict=False):
        classes[int(slot)] = int(cls)
    return classes


def plan_video(
    length: int, rng: np.random.Generator, weak_share: float, forced: Sequence[int] = ()
) -> Timeline:
    """Episodes of one video of ``length`` frames, with a per-video taste for some classes.

    Each video draws its own class preferences (real videos are dominated by one or two
    expressions); ``forced`` classes appear at least once so every split holds every class.
    """
    bias = VIDEO_CLASS_SHARE * rng.gamma(0.8, 1.0, NUM_CLASSES)
    bias = bias / bias.sum()
    lengths: list[int] = []
    while sum(lengths) < length:
        lengths.append(int(rng.integers(30, 110)))
    lengths[-1] -= sum(lengths) - length
    if len(lengths) > 1 and lengths[-1] < 10:
        tail = lengths.pop()
        lengths[-1] += tail
    rest = background_aus(rng)
    aus = np.tile(rest, (length, 1))
    classes = np.full(length, NEUTRAL, dtype=np.int64)
    envelope = np.zeros(length)
    start = 0
    for size, cls in zip(lengths, _segment_classes(len(lengths), rng, bias, forced), strict=True):
        if size > 0 and cls != NEUTRAL:
            env = _envelope(size, rng)
            apex = expression_aus(cls, sample_intensity(rng, weak_share), rng)
            aus[start : start + size] += env[:, None] * apex
            envelope[start : start + size] = env
            classes[start : start + size] = np.where(env >= LABEL_THRESHOLD, cls, NEUTRAL)
        start += size
    aus += np.stack([smooth_walk(rng, length, 0.03, 8) for _ in range(NUM_AUS)], axis=1)
    aus += rng.normal(0.0, 0.015, aus.shape)
    return Timeline(classes=classes, aus=np.clip(aus, 0.0, 1.0), envelope=envelope)


def annotation_gaps(length: int, rng: np.random.Generator) -> np.ndarray:
    """Mask of frames left unannotated (-1): in about half the videos, one to three runs."""
    mask = np.zeros(length, dtype=bool)
    if rng.random() < 0.5:
        for _ in range(int(rng.integers(1, 4))):
            run = int(rng.integers(5, max(6, min(60, length // 4))))
            first = int(rng.integers(0, max(1, length - run)))
            mask[first : first + run] = True
    return mask


def missing_faces(length: int, rng: np.random.Generator) -> np.ndarray:
    """Mask of frames with no face image: a few short runs, never the last frame."""
    mask = np.zeros(length, dtype=bool)
    for _ in range(int(rng.integers(0, 4))):
        run = int(rng.integers(1, 13))
        first = int(rng.integers(0, max(1, length - run - 1)))
        mask[first : first + run] = True
    mask[-1] = False
    return mask


def written_labels(timeline: Timeline, unannotated: np.ndarray) -> np.ndarray:
    """The labels an annotation file carries: the true class, or -1 where unannotated."""
    return np.where(unannotated, UNLABELED, timeline.classes).astype(np.int64)
