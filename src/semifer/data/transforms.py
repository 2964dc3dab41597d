"""Image transforms: the eval transform of every stage and the weak/strong training views.

All built from ``torchvision.transforms.v2`` on uint8 tensors; RandAugment is torchvision's.
Training crops keep the paper's ratio: resize 256 then crop 224, or the same ratio when
smaller (``resize_size = round(image_size * 256 / 224)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
from torchvision.transforms import v2

if TYPE_CHECKING:
    from semifer.models.backbone import FrameModelSpec

Transform = Callable[[np.ndarray], torch.Tensor]


def resize_for(image_size: int) -> int:
    """The resize side that keeps the paper's 256/224 ratio for a crop of ``image_size``."""
    return round(image_size * 256 / 224)


def _to_float(mean: tuple[float, ...], std: tuple[float, ...]) -> list[v2.Transform]:
    return [v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean=list(mean), std=list(std))]


def eval_transform(spec: "FrameModelSpec") -> Transform:
    """RGB uint8 HWC array -> normalised CHW float tensor: resize, centre crop."""
    return v2.Compose(
        [v2.ToImage(), v2.Resize(spec.resize_size, antialias=True), v2.CenterCrop(spec.image_size)]
        + _to_float(spec.mean, spec.std)
    )


def _weak_ops(image_size: int, resize_size: int) -> list[v2.Transform]:
    return [
        v2.ToImage(),
        v2.Resize(resize_size, antialias=True),
        v2.RandomCrop(image_size),
        v2.RandomHorizontalFlip(),
        v2.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4),
    ]


def weak_transform(spec: "FrameModelSpec") -> Transform:
    """The weak view alpha(x): random crop, horizontal flip, colour jitter."""
    return v2.Compose(_weak_ops(spec.image_size, spec.resize_size) + _to_float(spec.mean, spec.std))


def strong_transform(spec: "FrameModelSpec", num_ops: int = 2, magnitude: int = 10) -> Transform:
    """The strong view A(x): the weak view followed by torchvision's RandAugment."""
    ops = _weak_ops(spec.image_size, spec.resize_size)
    ops.append(v2.RandAugment(num_ops=num_ops, magnitude=magnitude))
    return v2.Compose(ops + _to_float(spec.mean, spec.std))


class WeakStrongViews:
    """Both views of one unlabeled face, drawn independently: ``(alpha(x), A(x))``, and with
    ``second_weak`` a second weak view after them (the loop's diagnostics)."""

    def __init__(self, spec: "FrameModelSpec", num_ops: int = 2, magnitude: int = 10, second_weak: bool = False) -> None:
        self.weak = weak_transform(spec)
        self.strong = strong_transform(spec, num_ops, magnitude)
        self.second_weak = second_weak

    def __call__(self, image: np.ndarray) -> tuple[torch.Tensor, ...]:
        views = self.weak(image), self.strong(image)
        return (*views, self.weak(image)) if self.second_weak else views
