"""Whole-video inference: overlapping clips, logits averaged where clips overlap."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from semifer.temporal.clips import clip_starts


@torch.inference_mode()
def video_logits(
    model: nn.Module, features: Tensor, mask: Tensor, clip_length: int, stride: int, batch_size: int = 32
) -> Tensor:
    """Per-frame logits ``(frames, classes)`` of one video from its features ``(frames, dim)``.

    Every frame gets a prediction whatever the length: a video shorter than ``clip_length`` is
    one short clip, a long one is tiled by ``clip_starts`` and each frame's logits are the mean
    over the clips that contain it.
    """
    frames = features.shape[0]
    if frames == 0:
        raise ValueError("cannot predict an empty video (0 frames)")
    device = next(model.parameters()).device
    length = min(clip_length, frames)
    starts = torch.from_numpy(clip_starts(frames, length, stride))
    offsets = torch.arange(length)
    total: Tensor | None = None
    counts = torch.zeros(frames)
    for first in range(0, len(starts), batch_size):
        index = starts[first : first + batch_size, None] + offsets  # (clips, length)
        logits = model(features[index].to(device).float(), mask[index].to(device)).float().cpu()
        if total is None:
            total = torch.zeros(frames, logits.shape[-1])
        total.index_add_(0, index.reshape(-1), logits.reshape(-1, logits.shape[-1]))
        counts.index_add_(0, index.reshape(-1), torch.ones(index.numel()))
    assert total is not None
    return total / counts[:, None]
