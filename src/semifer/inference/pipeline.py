"""From frames to per-face features and logits: decode, detect, track, align, batch, encode.

Decoding, detection, tracking and cropping run in a background thread (OpenCV and PyAV
release the GIL) while the main thread runs the frame model on full batches, so on a long
video the model sets the pace. Only the crops' features travel on: no frame is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from semifer.inference.align import align_face
from semifer.inference.detect import Detection, FaceDetector
from semifer.inference.track import IoUTracker, MainFaceTracker
from semifer.inference.video_io import Frame, prefetch

Encoder = Callable[[Tensor], tuple[Tensor, Tensor]]  # images (B,3,H,W) -> features (B,D), logits (B,C)
Transform = Callable[[np.ndarray], Tensor]
NO_TRACK = -1


@dataclass
class FrameFaces:
    """What the producer hands over for one frame: its metadata and its face crops."""

    frame: int
    timestamp: float
    location: str
    readable: bool
    faces: list[tuple[int, Detection]]
    crops: list[Tensor]


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


def locate_faces(
    frames: Iterable[Frame],
    detector: FaceDetector | None,
    tracker: IoUTracker | MainFaceTracker,
    transform: Transform,
    margin: float,
) -> Iterator[FrameFaces]:
    """Detect, track and crop every frame; ``detector=None`` means each image is already a face crop."""
    for frame in frames:
        if frame.image is None:
            yield FrameFaces(frame.index, frame.timestamp, frame.location, False, [], [])
            continue
        if detector is None:
            height, width = frame.image.shape[:2]
            faces = [(0, Detection((0.0, 0.0, float(width), float(height)), 1.0))]
            crops = [transform(frame.image)]
        else:
            faces = tracker.update(frame.index, detector.detect(frame.image))
            crops = [transform(align_face(frame.image, detection, margin=margin)) for _, detection in faces]
        yield FrameFaces(frame.index, frame.timestamp, frame.location, True, faces, crops)


def encode_faces(
    located: Iterable[FrameFaces],
    encoder: Encoder,
    batch_size: int,
    on_frame: Callable[[int], None] | None = None,
    background: bool = True,
) -> Observations:
    """Run ``encoder`` on full batches of crops as they arrive; returns all observations."""
    seen = Observations()
    pending: list[Tensor] = []

    def flush() -> None:
        if pending:
            features, logits = encoder(torch.stack(pending))
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
