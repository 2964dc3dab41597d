"""One reviewed video: per-frame labels, probabilities and where its frame images are.

Arrays travel to the page as base64 of little-endian unsigned integers, not as JSON lists:
the data of a 10,000-frame video is then ~200 KB and decodes in a few milliseconds, where
the JSON list of its 80,000 probabilities alone is ~600 KB to parse.
"""

from __future__ import annotations

import base64
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from semifer.labels import UNLABELED

NOT_ANNOTATED = 255  # uint8 code of a -1 label on the page
NO_BOX = 65535  # uint16 code of a missing face-box coordinate


@dataclass
class FrameImages:
    """Frame ``i`` of a video is the file ``folder / f"{i + first:0{digits}d}{suffix}"``."""

    folder: Path
    first: int
    digits: int
    suffix: str = ".jpg"

    def path(self, index: int) -> Path:
        return self.folder / f"{index + self.first:0{self.digits}d}{self.suffix}"


@dataclass
class ReviewVideo:
    """Everything a video page shows, one entry per frame.

    ``raw`` is the per-frame argmax, ``smoothed`` the labels after smoothing (described by
    ``smoothing``). ``truth`` is ``None`` when the video has no annotation. ``boxes`` holds
    the face box as fractions of the frame (NaN: no face), drawn over frames that do not show it.
    """

    name: str
    source: str  # "validation" (a run's cached video) or "predict" (a predictions table)
    raw: np.ndarray  # (frames,) int
    smoothed: np.ndarray  # (frames,) int
    probabilities: np.ndarray  # (frames, classes) float in 0..1
    no_face: np.ndarray  # (frames,) bool
    images: FrameImages
    smoothing: str
    truth: np.ndarray | None = None  # (frames,) int, -1 = not annotated
    boxes: np.ndarray | None = None  # (frames, 4) left, top, right, bottom in 0..1
    fps: float = math.nan

    @property
    def frames(self) -> int:
        return int(self.raw.size)

    def payload(self, page_folder: Path) -> dict[str, object]:
        """The page's data: arrays in base64, frame images as a path relative to ``page_folder``."""
        folder = Path(os.path.relpath(self.images.folder, page_folder)).as_posix()
        data: dict[str, object] = {
            "name": self.name,
            "source": self.source,
            "frames": self.frames,
            "fps": self.fps if math.isfinite(self.fps) else None,
            "smoothing": self.smoothing,
            "images": {"folder": folder + "/", "first": self.images.first, "digits": self.images.digits, "suffix": self.images.suffix},
            "raw": _labels(self.raw),
            "smoothed": _labels(self.smoothed),
            "truth": None if self.truth is None else _labels(self.truth),
            "noFace": _encode(self.no_face.astype(np.uint8)),
            "probabilities": _encode(np.rint(np.clip(self.probabilities, 0.0, 1.0) * 255).astype(np.uint8)),
            "boxes": None if self.boxes is None else _boxes(self.boxes),
        }
        return data


def _encode(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values).tobytes()).decode("ascii")


def _labels(labels: np.ndarray) -> str:
    labels = np.asarray(labels, dtype=np.int64)
    return _encode(np.where(labels == UNLABELED, NOT_ANNOTATED, labels).astype(np.uint8))


def _boxes(boxes: np.ndarray) -> str:
    scaled = np.rint(np.clip(boxes, 0.0, 1.0) * (NO_BOX - 1))
    return _encode(np.where(np.isfinite(boxes), scaled, NO_BOX).astype("<u2"))
