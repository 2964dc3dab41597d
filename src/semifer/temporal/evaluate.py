"""Per-video predictions from a feature cache, and macro F1 over all annotated frames together.

Two predictors share one path: the stage-1 student alone (its own classifier head, whose
logits the cache stores per frame) and the temporal encoder (``video_logits`` over the cached
features). Frames without a face image get probabilities interpolated from their neighbours
(``fill_missing``), then an optional smoothing of the labels, then ABAW macro F1.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from semifer.errors import DataFormatError
from semifer.labels import UNLABELED
from semifer.metrics import F1Report
from semifer.models.resolve import resolve_checkpoint
from semifer.smoothing import fill_missing, smooth, smoothing_method
from semifer.temporal.features import FeatureCache
from semifer.temporal.inference import video_logits

logger = logging.getLogger(__name__)


@dataclass
class Evaluation:
    """Macro F1 of raw and smoothed labels over the same frames."""

    raw: F1Report
    smoothed: F1Report
    smoothing: str
    window: int
    # Annotated frames scored from their neighbours: no face image, or one that could not be decoded.
    frames_without_features: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "raw": self.raw.as_dict(), "smoothed": self.smoothed.as_dict(), "smoothing": self.smoothing,
            "window": self.window, "frames_without_features": self.frames_without_features,
        }  # fmt: skip


def cache_probabilities(
    cache: FeatureCache,
    model: nn.Module | None = None,
    clip_length: int = 64,
    stride: int = 32,
    batch_size: int = 32,
) -> dict[str, np.ndarray]:
    """Class probabilities ``(frames, classes)`` of every cached video, missing faces filled in.

    ``model=None`` scores the stage-1 student per frame from its cached logits.
    """
    probabilities: dict[str, np.ndarray] = {}
    for name in cache.names:
        video = cache.load(name)
        if model is None:
            logits = video.logits.float()
        else:
            logits = video_logits(model, video.features, video.mask, clip_length, stride, batch_size)
        if not video.mask.any():
            logger.warning("%s: no frame has a face image; its labels are a uniform guess", cache.path(name))
        probabilities[name] = fill_missing(torch.softmax(logits, dim=-1).numpy(), video.mask.numpy())
    return probabilities


def cache_targets(cache: FeatureCache) -> dict[str, np.ndarray]:
    """Ground-truth labels of every cached video (-1 = not annotated)."""
    return {name: cache.frame_labels(name)[0] for name in cache.names}


def evaluate_labels(
    predictions: dict[str, np.ndarray],
    targets: dict[str, np.ndarray],
    smoothing: str = "window",
    window: int = 30,
    source: str = "predictions",
) -> Evaluation:
    """ABAW macro F1 of ``predictions`` against ``targets``, per video aligned, raw and smoothed.

    Every video of ``targets`` must be predicted, with one label per frame; ``source`` names
    the predictions in the error messages.
    """
    smoothing = smoothing_method(smoothing)
    missing = sorted(set(targets) - set(predictions))
    if missing:
        raise DataFormatError(f"{source}: no predictions for {len(missing)} video(s), e.g. {', '.join(missing[:3])}")
    if not targets:
        raise DataFormatError(f"{source}: nothing to evaluate, no annotated video")
    raw, smoothed, truth = [], [], []
    for name, labels in targets.items():
        predicted = np.asarray(predictions[name])
        if predicted.shape != labels.shape:
            raise DataFormatError(f"{source}: video {name} has {predicted.size} predicted frames but {labels.size} annotated")
        raw.append(predicted)
        smoothed.append(smooth(predicted, smoothing, window))
        truth.append(labels)
    targets_all = np.concatenate(truth)
    if not (targets_all != UNLABELED).any():
        raise DataFormatError(f"{source}: no annotated frame (all labels are -1)")
    return Evaluation(
        raw=F1Report.from_labels(targets_all, np.concatenate(raw)),
        smoothed=F1Report.from_labels(targets_all, np.concatenate(smoothed)),
        smoothing=smoothing,
        window=window,
    )


def evaluate_cache(
    cache: FeatureCache,
    model: nn.Module | None = None,
    clip_length: int = 64,
    stride: int = 32,
    smoothing: str = "window",
    window: int = 30,
) -> Evaluation:
    """Predict every cached video of a split and score it against the cached labels."""
    probabilities = cache_probabilities(cache, model, clip_length, stride)
    predictions = {name: values.argmax(axis=1) for name, values in probabilities.items()}
    source = str(cache.folder / cache.split)
    result = evaluate_labels(predictions, cache_targets(cache), smoothing, window, source=source)
    for name in cache.names:
        labels, mask = cache.frame_labels(name)
        result.frames_without_features += int(((labels != UNLABELED) & ~mask).sum())
    if result.frames_without_features:
        logger.info(
            "%s: %d of %d annotated frames have no face feature (no face image, or an image that could not be "
            "decoded at extraction) and are scored from their neighbours",
            source, result.frames_without_features, result.raw.frames,
        )
    return result


def predict_cache(checkpoint: Path, features: Path, split: str) -> tuple[FeatureCache, dict[str, np.ndarray]]:
    """The cache split and the class probabilities ``(frames, classes)`` of each of its videos.

    ``checkpoint`` resolves as everywhere (``semifer.models.resolve``). A stage-2 checkpoint
    scores whole videos in overlapping clips and its recorded stage-1 digest must be the
    cache's; a stage-1 checkpoint predicts per frame from the cached logits, and must be the
    checkpoint that wrote the cache.
    """
    resolved = resolve_checkpoint(checkpoint)
    if resolved.temporal:
        model, description = resolved.temporal_model()
        cache = FeatureCache(features, split, expected_digest=description.get("spatial_checkpoint_digest"))
        return cache, cache_probabilities(cache, model, description.get("clip_length", 64), description.get("stride", 32))
    cache = FeatureCache(features, split, expected_digest=resolved.student_digest())
    return cache, cache_probabilities(cache)


def predict_split(checkpoint: Path, features: Path, split: str, smoothing: str = "window", window: int = 30) -> dict[str, np.ndarray]:
    """Smoothed labels of every cached video of ``split``, ready for ``write_submission``."""
    smoothing = smoothing_method(smoothing)
    _, probabilities = predict_cache(checkpoint, features, split)
    return {name: smooth(values.argmax(axis=1), smoothing, window) for name, values in probabilities.items()}
