"""Weak and strong views of a batch of decoded faces, made on batched tensors.

The on-the-fly path (``semifer.data.transforms``) decodes and augments one PIL-sized image at
a time. For faces already decoded into a ``DecodedImages`` cache, the weak view's random crop,
flip and colour jitter are drawn per image but applied to the whole ``(batch, 3, side, side)``
uint8 tensor at once; the strong view then applies torchvision's own ``RandAugment`` per image
(its operations take one random choice per call). Compared with ``ColorJitter``, brightness,
contrast and saturation are applied in this fixed order rather than a random one per image.
"""

from __future__ import annotations

import numpy as np
import torch
from torchvision.transforms import v2


class BatchViews:
    """Makes ``weak`` and ``strong`` views of uint8 face batches; randomness from torch's global RNG.

    Args:
        image_size: side of the random crop (the network's input).
        mean, std: normalisation of the network, on [0, 1] images.
        jitter: brightness, contrast and saturation factors are drawn from ``[1 - jitter, 1 + jitter]``.
        num_ops, magnitude: torchvision ``RandAugment`` settings of the strong view.
    """

    def __init__(
        self, image_size: int, mean: tuple[float, ...], std: tuple[float, ...], jitter: float = 0.4,
        num_ops: int = 2, magnitude: int = 10,
    ) -> None:
        self.image_size = image_size
        self.mean = torch.tensor(mean).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(std).view(1, 3, 1, 1) * 255
        self.jitter = jitter
        self.randaugment = v2.RandAugment(num_ops=num_ops, magnitude=magnitude)

    @staticmethod
    def as_tensor(pixels: np.ndarray) -> torch.Tensor:
        """``(batch, side, side, 3)`` uint8 array -> ``(batch, 3, side, side)`` uint8 tensor."""
        return torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2)

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (or [0, 255] float) -> the network's normalised float32 input."""
        return (images.float() - self.mean) / self.std

    def centre(self, images: torch.Tensor) -> torch.Tensor:
        """The eval view: the centred ``image_size`` crop, normalised."""
        margin = (images.shape[-1] - self.image_size) // 2
        return self.normalise(images[..., margin : margin + self.image_size, margin : margin + self.image_size])

    def weak_uint8(self, images: torch.Tensor) -> torch.Tensor:
        """alpha(x): a random crop, a horizontal flip with probability 1/2, colour jitter."""
        count, side, size = len(images), images.shape[-1], self.image_size
        tops = torch.randint(0, side - size + 1, (count,)).tolist()
        lefts = torch.randint(0, side - size + 1, (count,)).tolist()
        crops = torch.stack([image[:, t : t + size, l : l + size] for image, t, l in zip(images, tops, lefts)])
        flip = torch.rand(count) < 0.5
        crops = torch.where(flip.view(-1, 1, 1, 1), crops.flip(-1), crops).float()
        low, high = 1 - self.jitter, 1 + self.jitter
        brightness, contrast, saturation = (torch.empty(3, count, 1, 1, 1).uniform_(low, high)).unbind(0)
        crops = (crops * brightness).clamp(0, 255)
        grey_mean = _grey(crops).mean((1, 2, 3), keepdim=True)
        crops = (grey_mean + contrast * (crops - grey_mean)).clamp(0, 255)
        grey = _grey(crops)
        crops = (grey + saturation * (crops - grey)).clamp(0, 255)
        return crops.round().to(torch.uint8)

    def weak(self, images: torch.Tensor) -> torch.Tensor:
        return self.normalise(self.weak_uint8(images))

    def strong(self, images: torch.Tensor) -> torch.Tensor:
        """A(x): the weak view's operations, then torchvision's RandAugment, per image."""
        weak = self.weak_uint8(images)
        return self.normalise(torch.stack([self.randaugment(image) for image in weak]))

    def both(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(alpha(x), A(x))`` of an unlabeled batch, drawn independently."""
        return self.weak(images), self.strong(images)

    def both_and_second_weak(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(alpha(x), A(x), alpha'(x))``: a second weak view, drawn after the first two so that
        they are the same with or without it."""
        return (*self.both(images), self.weak(images))


def _grey(images: torch.Tensor) -> torch.Tensor:
    """ITU-R 601 luma, as torchvision's ``rgb_to_grayscale``: ``(batch, 1, h, w)``."""
    red, green, blue = images.unbind(1)
    return (0.299 * red + 0.587 * green + 0.114 * blue).unsqueeze(1)
