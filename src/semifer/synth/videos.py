"""Aff-Wild2-like videos: one person per video, expression episodes, video-like nuisances.

Unlike stills, a video's nuisances drift smoothly from frame to frame (head roll, framing,
light) and stay fixed where a camera would (background, JPEG quality, sensor noise).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from semifer.synth.episodes import (
    annotation_gaps,
    missing_faces,
    plan_video,
    smooth_walk,
    written_labels,
)
from semifer.synth.faces import CANVAS, encode_jpeg, render
from semifer.synth.identity import sample_identity
from semifer.synth.nuisance import Nuisance, sample_background, sample_occluder

VIDEO_WEAK_SHARE = 0.55  # in-the-wild video: most expressions are subtle


@dataclass(frozen=True)
class VideoSpec:
    """What to generate for one video; ``seed`` fixes everything inside it."""

    name: str
    split: str  # "train" or "validation"
    identity: int
    length: int
    forced: tuple[int, ...]  # classes that must appear (rare classes, per split)
    extra_annotation_line: bool
    seed: tuple[int, ...]


@dataclass
class VideoResult:
    """One generated video: truth per frame and the encoded frames (None = no face image)."""

    spec: VideoSpec
    labels: np.ndarray  # written labels, -1 where unannotated
    classes: np.ndarray  # true class per frame
    aus: np.ndarray  # (frames, 12)
    frames: list[bytes | None]


def frame_nuisances(length: int, rng: np.random.Generator) -> list[Nuisance]:
    """Smoothly drifting pose and light, a fixed camera, an occluding hand for a while."""
    level = rng.uniform(0.2, 0.65)
    roll = rng.normal(0, 4) + smooth_walk(rng, length, 3 + 6 * level, 20)
    scale = 1 + rng.normal(0, 0.04) + smooth_walk(rng, length, 0.04, 25)
    shift_x = rng.normal(0, 2) + smooth_walk(rng, length, 1.5, 15)
    shift_y = rng.normal(0, 2) + smooth_walk(rng, length, 1.5, 15)
    gain = np.exp(rng.normal(0, 0.15) + smooth_walk(rng, length, 0.06, 40))
    blur = np.clip(rng.uniform(0, 0.9 * level) + smooth_walk(rng, length, 0.5 * level, 5), 0, 2.5)
    gradient, angle = rng.uniform(0, 0.5 * level + 0.05), rng.uniform(0, 2 * np.pi)
    noise, quality = rng.uniform(1, 2 + 6 * level), int(rng.integers(45, 93))
    occluded = np.zeros(length, dtype=bool)
    occluder = sample_occluder(rng, CANVAS)
    if rng.random() < 0.3:
        run = int(rng.integers(10, max(11, min(80, length // 3))))
        first = int(rng.integers(0, max(1, length - run)))
        occluded[first : first + run] = True
    return [
        Nuisance(
            roll=float(roll[i]),
            scale=float(scale[i]),
            shift=(float(shift_x[i]), float(shift_y[i])),
            gain=float(gain[i]),
            gradient=float(gradient),
            gradient_angle=float(angle),
            blur=float(blur[i]),
            noise=float(noise),
            jpeg_quality=quality,
            occluder=occluder if occluded[i] else None,
        )  # fmt: skip
        for i in range(length)
    ]


def make_video(spec: VideoSpec) -> VideoResult:
    """Render every frame of one video (runs in a worker process)."""
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed))
    who = sample_identity(rng)
    background = sample_background(rng, CANVAS)
    timeline = plan_video(spec.length, rng, VIDEO_WEAK_SHARE, spec.forced)
    labels = written_labels(timeline, annotation_gaps(spec.length, rng))
    no_face = missing_faces(spec.length, rng)
    frames: list[bytes | None] = []
    for index, nuisance in enumerate(frame_nuisances(spec.length, rng)):
        if no_face[index]:
            frames.append(None)
            continue
        image = render(who, timeline.aus[index], background, nuisance, rng)
        frames.append(encode_jpeg(image, nuisance.jpeg_quality))
    return VideoResult(
        spec=spec, labels=labels, classes=timeline.classes, aus=timeline.aus, frames=frames
    )


def plan_videos(
    split: str,
    count: int,
    frames: tuple[int, int],
    rng: np.random.Generator,
    seed: int,
    first_identity: int,
    forced: Sequence[int],
) -> list[VideoSpec]:
    """``count`` video specs of one split; about one base video in five is a _left/_right pair.

    ``forced`` classes are dealt round-robin over the videos, so that each split holds every
    rare class at least once.
    """
    specs: list[VideoSpec] = []
    base = 0
    while len(specs) < count:
        length = int(rng.integers(frames[0], frames[1] + 1))
        stem = f"synth-{split[:5]}-{base:03d}"
        names = (
            [f"{stem}_left", f"{stem}_right"]
            if count - len(specs) >= 2 and rng.random() < 0.2
            else [stem]
        )
        for name in names:
            index = len(specs)
            specs.append(
                VideoSpec(
                    name=name,
                    split=split,
                    identity=first_identity + index,
                    length=length,
                    forced=tuple(forced[index::count]),
                    extra_annotation_line=bool(rng.random() < 0.15),
                    seed=(seed, 1, first_identity + index),
                )  # fmt: skip
            )
        base += 1
    return specs
