"""A torch ``Dataset`` over any ``FaceReader`` that decodes lazily and skips corrupt images.

An undecodable image becomes ``None`` in the worker; ``collate_skipping`` drops it and counts
it in the batch, so the count reaches the main process (which sums and reports it) instead of
the item being silently replaced by another one with another label.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from semifer.data.base import FaceReader
from semifer.errors import CorruptImageError

logger = logging.getLogger(__name__)

Item = tuple[Any, int, int]


class FaceDataset(Dataset):
    """Items ``indices`` of ``reader`` (all by default), as ``(image, label, reader index)``.

    ``image`` is the RGB uint8 array passed through ``transform`` when one is given.
    """

    def __init__(
        self,
        reader: FaceReader,
        indices: np.ndarray | None = None,
        transform: Callable[[np.ndarray], Any] | None = None,
    ) -> None:
        self.reader = reader
        self.indices = np.arange(len(reader)) if indices is None else np.asarray(indices)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> Item | None:
        index = int(self.indices[position])
        try:
            image = self.reader.load(index)
        except CorruptImageError as error:
            logger.debug("skipping corrupt image: %s", error.where)
            return None
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.reader.labels[index]), index


def collate_skipping(batch: list[Item | None]) -> dict[str, Any]:
    """Stack a batch, dropping ``None`` (corrupt) items and counting them in ``skipped``.

    ``images`` is a stacked tensor when the items are tensors (after a transform), else the
    list of arrays.
    """
    kept = [item for item in batch if item is not None]
    images = [item[0] for item in kept]
    if images and all(isinstance(image, torch.Tensor) for image in images):
        stacked: Any = torch.stack(images)
    else:
        stacked = images
    return {
        "images": stacked,
        "labels": torch.tensor([item[1] for item in kept], dtype=torch.int64),
        "indices": torch.tensor([item[2] for item in kept], dtype=torch.int64),
        "skipped": len(batch) - len(kept),
    }
