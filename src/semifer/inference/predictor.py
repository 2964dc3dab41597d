"""``Recognizer``: the Python API over a trained checkpoint, one DataFrame row per frame.

Shaped like py-feat's ``Detector.detect``: give it a video or images, get back a plain
``pandas.DataFrame`` (columns in ``semifer.inference.labeling.COLUMNS``, documented in
docs/inference.md), the same table that ``semifer predict`` writes. Faces become features
through the checkpoint's ``FrameEncoder``, as they did for the feature cache stage 2 learned on.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from semifer.errors import ConfigError, InputError
from semifer.inference.detect import DEFAULT_DETECTOR, FaceDetector, build_detector
from semifer.inference.labeling import label_images, label_video
from semifer.inference.pipeline import Observations, encode_faces, locate_faces
from semifer.inference.track import IoUTracker, make_tracker
from semifer.inference.video_io import FrameSource, ImageListSource, Frame, open_input
from semifer.models.frame_encoder import FrameEncoder
from semifer.runs.distributed import resolve_device
from semifer.models.resolve import resolve_checkpoint
from semifer.smoothing import smoothing_method

LOGGER = logging.getLogger(__name__)


class _ArraySource:
    """In-memory RGB arrays as a frame source, for ``predict_images``."""

    def __init__(self, images: Sequence[np.ndarray]) -> None:
        self.images, self.name, self.fps = images, "images", math.nan

    def __iter__(self):  # type: ignore[no-untyped-def]
        for index, image in enumerate(self.images):
            yield Frame(index, math.nan, np.ascontiguousarray(image), f"array#{index}")


class Recognizer:
    """Facial expressions (8 ABAW classes) of the faces in videos and images.

    Example:
        >>> from semifer import Recognizer
        >>> recognizer = Recognizer.from_checkpoint("runs/temporal/best")  # doctest: +SKIP
        >>> table = recognizer.predict_video("interview.mp4")  # doctest: +SKIP
        >>> table[["frame", "timestamp", "label_name", "Happiness"]].head()  # doctest: +SKIP
    """

    def __init__(
        self,
        encoder: FrameEncoder,
        temporal: nn.Module | None = None,
        temporal_description: dict | None = None,
        device: str = "auto",
        batch_size: int = 32,
        detector: str | FaceDetector = DEFAULT_DETECTOR,
        detector_model: Path | None = None,
        smoothing: str = "window",
        window: int = 30,
        margin: float | None = None,
        detect_every: int = 10,
    ) -> None:
        """``margin`` (crop side over detector-box side) overrides the one the encoder records."""
        if margin is not None and not margin > 0:
            raise ConfigError(f"margin must be positive, got {margin}")
        self.device = resolve_device(device)
        self.encoder = encoder.to(self.device)
        self.temporal = temporal.to(self.device).eval().requires_grad_(False) if temporal is not None else None
        self.temporal_description = temporal_description or {}
        self.batch_size = batch_size
        self._detector, self._detector_model = detector, detector_model
        self.smoothing = smoothing_method(smoothing)  # before any frame is decoded
        self.window = window
        self.margin = encoder.spec.margin if margin is None else margin
        self.detect_every = max(1, detect_every)

    @property
    def detector(self) -> FaceDetector:
        """The face detector, built on first use: ``crops`` inputs never need one."""
        if isinstance(self._detector, str):
            self._detector = build_detector(self._detector, self._detector_model)
        return self._detector

    @classmethod
    def from_checkpoint(cls, path: str | Path, **options: object) -> "Recognizer":
        """Load a stage-2 checkpoint folder (temporal model + its frame encoder) or a stage-1 one.

        A stage-2 folder needs nothing outside itself (``semifer.models.resolve``). ``options``
        go to ``__init__``.

        Raises:
            CheckpointError: missing or corrupt folder, frame-encoder weights that do not match
                their recorded digest, or a model of another backbone or class count.
        """
        checkpoint = resolve_checkpoint(path)
        encoder, temporal, description = checkpoint.load()
        LOGGER.info("loaded %s (%s, %s)", checkpoint.folder, encoder.spec.backbone, "per frame" if temporal is None else "temporal")
        return cls(encoder, temporal, description, **options)  # type: ignore[arg-type]

    @torch.inference_mode()
    def _sequence_logits(self, features: Tensor, mask: Tensor) -> Tensor:
        from semifer.temporal.inference import video_logits

        assert self.temporal is not None
        description = self.temporal_description
        clip_length = int(description.get("clip_length", 64))
        stride = int(description.get("stride", clip_length // 2))
        return video_logits(self.temporal, features, mask, clip_length, stride, self.batch_size)

    def observe(
        self, source: FrameSource, all_faces: bool, crops: bool, on_frame: Callable[[int], None] | None = None
    ) -> Observations:
        """Decode, detect, track, crop and encode every frame of ``source``."""
        detector = None if crops else self.detector
        located = locate_faces(source, detector, make_tracker(all_faces), self.margin, self.detect_every)
        return encode_faces(located, self.encoder.encode, self.encoder.resize_crop, self.batch_size, on_frame)

    def predict_video(
        self,
        video: str | Path | FrameSource,
        all_faces: bool = False,
        crops: bool = False,
        on_frame: Callable[[int], None] | None = None,
    ) -> pd.DataFrame:
        """One row per frame of a video file or frame folder (one per face with ``all_faces``).

        ``table.attrs`` holds ``frames_declared`` (the container's frame count, ``None`` when
        it gives none), ``frames_decoded`` and ``warnings`` (e.g. a video that ends before the
        frames its header declares).

        Args:
            video: a video file, a folder of frames, or an open frame source.
            all_faces: follow every face (``track_id`` tells them apart) instead of the main one.
            crops: the frames are already aligned face crops (Aff-Wild2 ``cropped_aligned``).
            on_frame: called with each frame index as it is done (progress display).

        Example:
            >>> table = Recognizer.from_checkpoint("runs/temporal/best").predict_video("clip.mp4")  # doctest: +SKIP
            >>> table.loc[~table.no_face, "label_name"].value_counts()  # doctest: +SKIP
        """
        source = open_input(video) if isinstance(video, (str, Path)) else video
        seen = self.observe(source, all_faces, crops, on_frame)
        if seen.num_frames == 0:
            raise InputError(f"{getattr(source, 'name', video)}: no frame could be decoded")
        model = self._sequence_logits if self.temporal is not None else None
        table = label_video(seen, all_faces, model, self.smoothing, self.window)
        declared = int(getattr(source, "frame_count", 0) or 0)
        table.attrs.update(frames_declared=declared or None, frames_decoded=seen.num_frames, warnings=[])
        if declared > seen.num_frames:
            # A cut-off download or copy still opens and decodes: only the header's count shows it.
            message = (
                f"{getattr(source, 'path', source.name)}: the header declares {declared} frames but only "
                f"{seen.num_frames} were decoded (truncated file?); the table covers the decoded frames"
            )
            LOGGER.warning(message)
            table.attrs["warnings"].append(message)
        return table

    def predict_images(
        self, images: str | Path | Sequence[str | Path | np.ndarray], crops: bool = False
    ) -> pd.DataFrame:
        """One row per face of independent images (and a flagged row for an image without one).

        Images are labeled by the frame model alone: no temporal model, no smoothing.

        Args:
            images: a folder, a glob, one path, or a list of paths or RGB uint8 arrays.
            crops: the images are already aligned face crops, skip detection.

        Example:
            >>> table = Recognizer.from_checkpoint("runs/spatial/best").predict_images(["a.jpg", "b.jpg"])  # doctest: +SKIP
            >>> table[["file", "label_name", "Neutral", "Happiness"]]  # doctest: +SKIP
        """
        if isinstance(images, (str, Path)):
            source: FrameSource = open_input(images)
            if isinstance(source, ImageListSource) and source.frame_folder:
                source = ImageListSource(source.paths, source.name, source.fps)  # independent images, no gaps
        elif all(isinstance(item, np.ndarray) for item in images):
            source = _ArraySource(images)  # type: ignore[arg-type]
        else:
            paths = [Path(item) for item in images]  # type: ignore[arg-type]
            if missing := [str(p) for p in paths if not p.is_file()]:
                raise InputError(f"no such image: {', '.join(missing[:3])}")
            source = ImageListSource(paths, "images")
        if not isinstance(source, (ImageListSource, _ArraySource)):
            raise InputError(f"{images}: predict_images takes images; use predict_video for a video")
        tracker = IoUTracker(iou_threshold=2.0, max_gap=0)  # never matches: every face gets its own id
        located = locate_faces(source, None if crops else self.detector, tracker, self.margin)
        return label_images(encode_faces(located, self.encoder.encode, self.encoder.resize_crop, self.batch_size))
