"""Training clips over the feature cache, read lazily (memory-mapped slices of each video)."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from semifer.labels import NUM_CLASSES, UNLABELED
from semifer.temporal.clips import clip_starts
from semifer.temporal.config import ClassWeighting
from semifer.temporal.features import FeatureCache


class ClipDataset(Dataset):
    """Fixed-length clips ``(features, mask, targets)``; shorter videos are padded with masked frames.

    ``targets`` is -1 wherever the loss must not look: frames not annotated, frames without a
    face image (their features are missing) and padding.
    """

    def __init__(self, cache: FeatureCache, clip_length: int, stride: int) -> None:
        self.cache = cache
        self.clip_length = clip_length
        self.clips: list[tuple[str, int, int]] = []
        self.counts = np.zeros(NUM_CLASSES, dtype=np.int64)
        self._clip_labels: list[np.ndarray] = []
        for name, frames in cache.frame_counts().items():
            labels, mask = cache.frame_labels(name)
            targets = np.where(mask, labels, UNLABELED)
            self.counts += np.bincount(targets[targets >= 0], minlength=NUM_CLASSES)
            for start in clip_starts(frames, clip_length, stride).tolist():
                stop = min(start + clip_length, frames)
                self.clips.append((name, start, stop))
                self._clip_labels.append(targets[start:stop])

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor, Tensor]:
        name, start, stop = self.clips[index]
        features, mask, labels = self.cache.load_clip(name, start, stop)
        targets = torch.where(mask, labels, torch.full_like(labels, UNLABELED))
        pad = self.clip_length - (stop - start)
        if pad:
            features = torch.cat([features, features.new_zeros(pad, features.shape[1])])
            mask = torch.cat([mask, mask.new_zeros(pad)])
            targets = torch.cat([targets, targets.new_full((pad,), UNLABELED)])
        return features, mask, targets

    def class_weights(self, mode: ClassWeighting) -> Tensor | None:
        """Cross-entropy class weights from the training frame counts (mean weight 1 over frames)."""
        if mode == ClassWeighting.none:
            return None
        frequency = np.maximum(self.counts, 1) / max(self.counts.sum(), 1)
        weights = 1.0 / frequency if mode == ClassWeighting.inverse else 1.0 / np.sqrt(frequency)
        weights = weights / (weights * frequency).sum()
        return torch.tensor(weights, dtype=torch.float32)

    def balanced_weights(self) -> Tensor:
        """Sampling weight per clip: mean inverse class frequency of its annotated frames.

        Clips without an annotated frame get the smallest weight of any clip, not zero, so
        they are still seen now and then (they train nothing, but cost little).
        """
        inverse = 1.0 / np.maximum(self.counts, 1)
        weights = np.array([inverse[labels[labels >= 0]].mean() if (labels >= 0).any() else np.nan for labels in self._clip_labels])
        floor = np.nanmin(weights) if np.isfinite(weights).any() else 1.0
        return torch.tensor(np.where(np.isnan(weights), floor, weights), dtype=torch.double)
