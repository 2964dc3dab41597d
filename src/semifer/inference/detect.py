"""Pluggable face detectors that work offline: one protocol, a dict of names.

``haar`` (the default) is OpenCV's frontal-face cascade, which ships inside
opencv-python-headless 4.x and so installs with semifer and needs no file or download.
``yunet`` (OpenCV's ``FaceDetectorYN``) is more accurate and gives five landmarks, but its
ONNX file must be supplied by the user. ``mtcnn`` uses facenet-pytorch, whose wheel carries
its weights; it pins an old torch, so it is installed by hand with ``--no-deps``.
docs/inference.md compares the three (speed and detection rate).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from semifer.errors import ConfigError

# Detect on frames scaled down to this longest side: a face under a tenth of a 320-pixel
# frame is too small for a 112-pixel expression crop anyway, and the Haar cascade runs
# ~3x faster on 320 px than on 480 px (21 vs 64 ms a frame on 2 cores, 640x360 video).
DETECT_SIDE = 320


@dataclass(frozen=True)
class Detection:
    """A face in frame pixels: box ``(left, top, right, bottom)``, a score, optional landmarks.

    ``landmarks`` are five ``(x, y)`` points (right eye, left eye, nose, mouth corners, in
    the image's left-to-right order for the eyes) when the detector provides them.
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray | None = None

    @property
    def area(self) -> float:
        left, top, right, bottom = self.box
        return max(0.0, right - left) * max(0.0, bottom - top)


class FaceDetector(Protocol):
    """Finds the faces in one RGB uint8 frame."""

    def detect(self, image: np.ndarray) -> list[Detection]: ...


def _downscale(image: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    scale = min(1.0, side / max(image.shape[:2]))
    if scale == 1.0:
        return image, 1.0
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


class HaarDetector:
    """OpenCV's bundled frontal-face Haar cascade (``alt2``); the score is its neighbour count.

    Measured on 200 synthetic video frames of 100 people (roll, blur, noise, occluders) and 60
    shifted, rotated copies of a real portrait: the ``default`` cascade at scale step 1.2 found
    62% and 78%; ``alt2`` with local contrast equalisation (CLAHE) at step 1.1 finds 82% and
    97%, with no detection on 100 face-free scenes. The misses were dark skin, glasses and
    beards, and face sizes falling between two scale steps. Global histogram equalisation
    instead cost faces.
    """

    def __init__(self, min_neighbors: int = 5, side: int = DETECT_SIDE, scale_factor: float = 1.1) -> None:
        if not hasattr(cv2, "CascadeClassifier"):
            raise ConfigError(
                f"OpenCV {cv2.__version__} has no Haar cascades (5.x dropped them): install opencv-python-headless<5 "
                "or choose --detector yunet / mtcnn"
            )
        cascade_path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_alt2.xml"
        self.cascade = cv2.CascadeClassifier(str(cascade_path))
        if self.cascade.empty():
            raise ConfigError(f"the Haar cascade {cascade_path} is missing or unreadable")
        self.contrast = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
        self.min_neighbors = min_neighbors
        self.scale_factor = scale_factor
        self.side = side

    def detect(self, image: np.ndarray) -> list[Detection]:
        small, scale = _downscale(image, self.side)
        gray = self.contrast.apply(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
        min_side = max(24, max(gray.shape) // 10)
        boxes, neighbours = self.cascade.detectMultiScale2(
            gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(min_side, min_side)
        )
        return [
            Detection((float(x / scale), float(y / scale), float((x + w) / scale), float((y + h) / scale)), float(n))
            for (x, y, w, h), n in zip(np.reshape(boxes, (-1, 4)), np.ravel(neighbours), strict=True)
        ]


class YuNetDetector:
    """OpenCV's YuNet (``cv2.FaceDetectorYN``) from a user-supplied ONNX file, with landmarks."""

    def __init__(self, model_path: Path | None, score_threshold: float = 0.7, side: int = DETECT_SIDE) -> None:
        if model_path is None or not Path(model_path).is_file():
            raise ConfigError(
                f"the yunet detector needs its ONNX file (--detector-model), e.g. face_detection_yunet_2023mar.onnx; got {model_path}"
            )
        self.net = cv2.FaceDetectorYN.create(str(model_path), "", (320, 320), score_threshold)
        self.side = side

    def detect(self, image: np.ndarray) -> list[Detection]:
        small, scale = _downscale(image, self.side)
        self.net.setInputSize((small.shape[1], small.shape[0]))
        _, faces = self.net.detect(cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
        found = []
        for row in faces if faces is not None else []:
            x, y, w, h = (float(v) / scale for v in row[:4])
            landmarks = np.asarray(row[4:14], dtype=np.float32).reshape(5, 2) / scale
            found.append(Detection((x, y, x + w, y + h), float(row[14]), landmarks))
        return found


class MTCNNDetector:
    """facenet-pytorch's MTCNN (weights inside its wheel), with five landmarks."""

    def __init__(self, score_threshold: float = 0.9, side: int = DETECT_SIDE) -> None:
        try:
            from facenet_pytorch import MTCNN
        except ImportError:
            raise ConfigError(
                "the mtcnn detector needs facenet-pytorch: pip install --no-deps facenet-pytorch "
                "(its pinned torch<2.3 must not replace semifer's torch)"
            ) from None
        self.net = MTCNN(keep_all=True, device="cpu")
        self.score_threshold = score_threshold
        self.side = side

    def detect(self, image: np.ndarray) -> list[Detection]:
        small, scale = _downscale(image, self.side)
        boxes, scores, points = self.net.detect(small, landmarks=True)
        if boxes is None:
            return []
        return [
            Detection(tuple(float(v) / scale for v in box), float(score), np.asarray(marks, dtype=np.float32) / scale)
            for box, score, marks in zip(boxes, scores, points, strict=True)
            if score >= self.score_threshold
        ]


DETECTORS: dict[str, Callable[[Path | None], FaceDetector]] = {
    "haar": lambda model_path: HaarDetector(),
    "yunet": lambda model_path: YuNetDetector(model_path),
    "mtcnn": lambda model_path: MTCNNDetector(),
}
DEFAULT_DETECTOR = "haar"


def build_detector(name: str = DEFAULT_DETECTOR, model_path: Path | None = None) -> FaceDetector:
    """Build a detector by name (``haar``, ``yunet``, ``mtcnn``); ``ConfigError`` when it cannot run."""
    if name not in DETECTORS:
        raise ConfigError(f"unknown detector {name!r}; choose one of {', '.join(DETECTORS)}")
    return DETECTORS[name](model_path)


# Between full-frame detections a tracked face is searched in a window of twice its side,
# scaled so that the face is about 64 px: the detector then scans a 128-px image instead of
# the frame, ~10x cheaper for the Haar cascade on 640x360 video.
NEAR_WINDOW = 2.0
NEAR_SIDE = 128


def detect_near(detector: FaceDetector, image: np.ndarray, box: tuple[float, float, float, float]) -> list[Detection]:
    """Faces found in a small window around ``box`` (frame coordinates in and out)."""
    height, width = image.shape[:2]
    side = NEAR_WINDOW * max(box[2] - box[0], box[3] - box[1])
    centre_x, centre_y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    left, top = max(0, int(centre_x - side / 2)), max(0, int(centre_y - side / 2))
    right, bottom = min(width, int(centre_x + side / 2)), min(height, int(centre_y + side / 2))
    if right - left < 16 or bottom - top < 16:
        return []
    scale = NEAR_SIDE / side
    size = (max(1, round((right - left) * scale)), max(1, round((bottom - top) * scale)))
    window = cv2.resize(image[top:bottom, left:right], size, interpolation=cv2.INTER_AREA)
    offset = np.array([left, top], dtype=np.float32)
    return [
        Detection(
            (d.box[0] / scale + left, d.box[1] / scale + top, d.box[2] / scale + left, d.box[3] / scale + top),
            d.score,
            None if d.landmarks is None else d.landmarks / scale + offset,
        )
        for d in detector.detect(window)
    ]
