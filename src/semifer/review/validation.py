"""The validation videos of a run: the stage-2 model over the feature cache, as the ablation scores them.

Predictions come from ``semifer.temporal.evaluate`` (the same probabilities, argmax and
smoothing as ``semifer ablation`` and ``semifer submit``), so the review's confusion matrices
are the evaluation's, frame for frame. Frame images are the Aff-Wild2 face crops
(``cropped_aligned/<video>/00001.jpg`` = frame 1), linked, never copied.
"""

from __future__ import annotations

import logging
from pathlib import Path

from semifer.review.video import FrameImages, ReviewVideo
from semifer.smoothing import smooth, smoothing_method
from semifer.temporal.evaluate import cache_targets, predict_cache

logger = logging.getLogger(__name__)


def validation_videos(
    checkpoint: Path,
    features: Path,
    images: Path,
    split: str = "validation",
    smoothing: str = "window",
    window: int = 30,
) -> list[ReviewVideo]:
    """One ``ReviewVideo`` per cached video of ``split``.

    Args:
        checkpoint: a stage-2 checkpoint folder (or a stage-1 one: per-frame predictions).
        features: the feature cache that checkpoint was trained on.
        images: the ``cropped_aligned`` folder holding ``<video>/%05d.jpg``.
    """
    method = smoothing_method(smoothing)
    cache, probabilities = predict_cache(Path(checkpoint), Path(features), split)
    logger.info("predicted %d %s videos of %s", len(cache), split, cache.folder)
    targets = cache_targets(cache)
    label = "per-frame labels" if method == "none" else f"{method} vote ({window})"
    videos = []
    for name in cache.names:
        raw = probabilities[name].argmax(axis=1)
        _, has_face = cache.frame_labels(name)
        videos.append(
            ReviewVideo(
                name=name,
                source="validation",
                raw=raw,
                smoothed=smooth(raw, method, window),
                probabilities=probabilities[name],
                no_face=~has_face.astype(bool),
                images=FrameImages(Path(images) / name, first=1, digits=5),
                smoothing=label,
                truth=targets[name],
            )
        )
    return videos
