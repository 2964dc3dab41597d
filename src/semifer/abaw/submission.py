"""The ABAW EXPR submission file: writer, validator and reader (also the predictions format).

Format (DESIGN.md section 6)::

    image_location,Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other
    <video>/00001.jpg,<label 0-7>
    ...

one line per frame of every listed video, frames without a face image included. The same
file is what ``semifer evaluate`` reads as predictions, so a validation run is scored on
exactly the bytes that would be submitted.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from semifer.checkpoint import atomic_write_text
from semifer.data.base import read_text
from semifer.errors import DataFormatError
from semifer.labels import ABAW_CLASSES, NUM_CLASSES

HEADER = "image_location," + ",".join(ABAW_CLASSES)


def submission_lines(predictions: Mapping[str, np.ndarray]) -> list[str]:
    """Header plus ``<video>/%05d.jpg,<label>`` for every frame, videos in the given order."""
    lines = [HEADER]
    for name, labels in predictions.items():
        lines.extend(f"{name}/{frame:05d}.jpg,{int(label)}" for frame, label in enumerate(np.asarray(labels), start=1))
    return lines


def validate_submission(lines: list[str], frame_counts: Mapping[str, int], source: str = "submission") -> None:
    """Check that ``lines`` hold every frame of every video in ``frame_counts`` exactly once, nothing else.

    Raises ``DataFormatError`` naming ``source`` and the first offending line or video.
    """
    if not lines or lines[0] != HEADER:
        raise DataFormatError(f"{source}:1: header must be {HEADER!r}")
    parsed = parse_lines(lines, source)
    for name, frames in frame_counts.items():
        seen = parsed.get(name)
        if seen is None:
            raise DataFormatError(f"{source}: video {name} is missing")
        if len(seen) != frames:
            raise DataFormatError(f"{source}: video {name} has {len(seen)} frames, expected {frames}")
    extra = sorted(set(parsed) - set(frame_counts))
    if extra:
        raise DataFormatError(f"{source}: video {extra[0]} is not in the list of videos")


def parse_lines(lines: list[str], source: str, annotations: Path | None = None) -> dict[str, np.ndarray]:
    """Labels per video from submission lines (after the header), frames 1..T each exactly once.

    A video is a plain name (no folder, no ``..``); with ``annotations``, it must also have its
    ``<video>.txt`` there, so that a misspelt or foreign video stops the evaluation, naming its line.
    """
    frames: dict[str, dict[int, int]] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        location, _, label_text = line.strip().rpartition(",")
        video, _, image = location.rpartition("/")
        plain = bool(video) and "/" not in video and "\\" not in video and video not in (".", "..")
        if not plain or not image.endswith(".jpg") or not image[:-4].isdigit():
            raise DataFormatError(f"{source}:{number}: {line.strip()!r} is not '<video>/00001.jpg,<label>'")
        if annotations is not None and video not in frames and not (annotations / f"{video}.txt").is_file():
            raise DataFormatError(f"{source}:{number}: video {video!r} has no annotation in {annotations}")
        if not label_text.strip().isdigit() or int(label_text) >= NUM_CLASSES:
            raise DataFormatError(f"{source}:{number}: label {label_text!r} is not an integer in 0..{NUM_CLASSES - 1}")
        frame = int(image[:-4])
        per_video = frames.setdefault(video, {})
        if frame in per_video:
            raise DataFormatError(f"{source}:{number}: frame {video}/{image} appears twice")
        per_video[frame] = int(label_text)
    videos: dict[str, np.ndarray] = {}
    for video, labels in frames.items():
        expected = np.arange(1, len(labels) + 1)
        present = np.array(sorted(labels))
        if not np.array_equal(present, expected):
            first = int(expected[np.flatnonzero(present != expected)[0]])
            raise DataFormatError(f"{source}: video {video} is missing frame {first:05d}.jpg")
        videos[video] = np.array([labels[frame] for frame in expected], dtype=np.int64)
    return videos


def write_submission(path: Path, predictions: Mapping[str, np.ndarray], frame_counts: Mapping[str, int] | None = None) -> Path:
    """Validate then atomically write the submission for ``predictions`` (labels per video).

    ``frame_counts`` (default: the length of each prediction) is what the file must cover;
    pass the list of test videos and their frame counts to catch a missing video.
    """
    lines = submission_lines(predictions)
    expected = frame_counts if frame_counts is not None else {name: len(labels) for name, labels in predictions.items()}
    validate_submission(lines, expected, source=str(path))
    atomic_write_text(Path(path), "\n".join(lines) + "\n")
    return Path(path)


def read_submission(path: Path, annotations: Path | None = None) -> dict[str, np.ndarray]:
    """Labels per video from a submission (predictions) file; every error names the file and line.

    ``annotations``: the folder of annotation files every video must have one in.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"{path}: predictions file not found")
    lines = read_text(path).splitlines()
    if not lines or lines[0].strip() != HEADER:
        raise DataFormatError(f"{path}:1: header must be {HEADER!r}")
    videos = parse_lines(lines, str(path), annotations)
    if not videos:
        raise DataFormatError(f"{path}: no prediction lines after the header")
    return videos
