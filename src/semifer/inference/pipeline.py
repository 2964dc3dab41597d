"""From frames to per-face features and logits: decode, detect, track, align, batch, encode.

Decoding, detection, tracking and cropping run in a background thread (OpenCV and PyAV
release the GIL) while the main thread runs the frame model on full batches, so on a long
video the model sets the pace. Only the crops' features travel on: no frame is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
from torch import Tensor

from semifer.inference.align import CROP_SIZE, align_face
from semifer.inference.detect import Detection, FaceDetector, detect_near
from semifer.inference.track import IoUTracker, MainFaceTracker, iou
from semifer.inference.video_io import Frame, prefetch

Encoder = Callable[[Tensor], tuple[Tensor, Tensor]]  # uint8 (B,3,h,w) -> features (B,D), logits (B,C)
Transform = Callable[[Tensor], Tensor]  # uint8 crops (B,3,H,W) -> resized, centre-cropped uint8 (B,3,h,w)
NO_TRACK = -1


@dataclass
class FrameFaces:
    """What the producer hands over for one frame: its metadata and its face crops."""

    frame: int
    timestamp: float
    location: str
    readable: bool
    faces: list[tuple[int, Detection]]
    crops: list[np.ndarray]  # RGB uint8 (CROP_SIZE, CROP_SIZE, 3), one per face


@dataclass
class Observations:
    """Everything the model saw in one input, frame-level and face-level, as flat arrays."""

    frame_timestamps: list[float] = field(default_factory=list)
    frame_locations: list[str] = field(default_factory=list)
    frame_readable: list[bool] = field(default_factory=list)
    face_frames: list[int] = field(default_factory=list)
    face_tracks: list[int] = field(default_factory=list)
    face_boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    face_scores: list[float] = field(default_factory=list)
    features: list[Tensor] = field(default_factory=list)
    logits: list[Tensor] = field(default_factory=list)

    @property
    def num_frames(self) -> int:
        return len(self.frame_timestamps)

    def feature_matrix(self) -> Tensor:
        """Per-face features ``(faces, dim)`` in observation order."""
        return torch.cat(self.features) if self.features else torch.empty(0, 0)

    def logit_matrix(self) -> Tensor:
        """Per-face frame-model logits ``(faces, classes)`` in observation order."""
        return torch.cat(self.logits) if self.logits else torch.empty(0, 0)


def as_crop(image: np.ndarray) -> np.ndarray:
    """A whole image as a training-size crop: centre square, resized to ``CROP_SIZE``."""
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = image[top : top + side, left : left + side]
    return square if side == CROP_SIZE else cv2.resize(square, (CROP_SIZE, CROP_SIZE), interpolation=cv2.INTER_AREA)


def locate_faces(
    frames: Iterable[Frame],
    detector: FaceDetector | None,
    tracker: IoUTracker | MainFaceTracker,
    margin: float,
    detect_every: int = 1,
) -> Iterator[FrameFaces]:
    """Detect, track and crop every frame; ``detector=None`` means each image is already a face crop.

    The detector scans the whole frame every ``detect_every`` frames (and whenever no face is
    followed); in between, each followed face is searched near its last box only
    (``detect_near``), which finds the same faces at a fraction of the cost.
    """
    faces: list[tuple[int, Detection]] = []
    for frame in frames:
        if frame.image is None:
            yield FrameFaces(frame.index, frame.timestamp, frame.location, frame.missing, [], [])
            continue
        if detector is None:
            height, width = frame.image.shape[:2]
            faces = [(0, Detection((0.0, 0.0, float(width), float(height)), 1.0))]
            crops = [as_crop(frame.image)]
        else:
            if not faces or frame.index % detect_every == 0:
                found = detector.detect(frame.image)
            else:
                found = _distinct([d for _, old in faces for d in detect_near(detector, frame.image, old.box)])
            faces = tracker.update(frame.index, found)
            crops = [align_face(frame.image, detection, margin=margin) for _, detection in faces]
        yield FrameFaces(frame.index, frame.timestamp, frame.location, True, faces, crops)


def _distinct(detections: list[Detection], overlap: float = 0.5) -> list[Detection]:
    """Drop detections that overlap a kept, higher-scoring one (neighbouring windows see the same face)."""
    kept: list[Detection] = []
    for detection in sorted(detections, key=lambda d: d.score, reverse=True):
        if all(iou(detection.box, other.box) < overlap for other in kept):
            kept.append(detection)
    return kept


def encode_faces(
    located: Iterable[FrameFaces],
    encoder: Encoder,
    transform: Transform,
    batch_size: int,
    on_frame: Callable[[int], None] | None = None,
    background: bool = True,
) -> Observations:
    """Run ``encoder`` on full batches of crops as they arrive; returns all observations.

    ``transform`` (``FrameEncoder.resize_crop``) runs here on the whole batch: one call per
    batch instead of one per crop, and it keeps torch out of the decoding thread.
    """
    seen = Observations()
    pending: list[np.ndarray] = []

    def flush() -> None:
        if pending:
            batch = torch.from_numpy(np.stack(pending)).permute(0, 3, 1, 2)  # (batch, 3, H, W) uint8
            features, logits = encoder(transform(batch))
            seen.features.append(features.float().cpu())
            seen.logits.append(logits.float().cpu())
            pending.clear()

    for item in prefetch(located) if background else located:
        seen.frame_timestamps.append(item.timestamp)
        seen.frame_locations.append(item.location)
        seen.frame_readable.append(item.readable)
        for (track_id, detection), crop in zip(item.faces, item.crops, strict=True):
            seen.face_frames.append(item.frame)
            seen.face_tracks.append(track_id)
            seen.face_boxes.append(detection.box)
            seen.face_scores.append(detection.score)
            pending.append(crop)
        if len(pending) >= batch_size:
            flush()
        if on_frame is not None:
            on_frame(item.frame)
    flush()
    return seen
