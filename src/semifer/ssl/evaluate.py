"""Validation: macro F1 of a frame model on the annotated Aff-Wild2 validation frames."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from semifer.data.base import CorruptImageError, FaceReader
from semifer.data.transforms import Transform
from semifer.labels import UNLABELED
from semifer.metrics import F1Report


class _Frames(Dataset):
    def __init__(self, reader: FaceReader, items: np.ndarray, transform: Transform) -> None:
        self.reader, self.items, self.transform = reader, items, transform

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, position: int) -> tuple[torch.Tensor, int] | None:
        item = int(self.items[position])
        try:
            return self.transform(self.reader.load(item)), int(self.reader.labels[item])
        except CorruptImageError:
            return None


def _collate(batch: list[tuple[torch.Tensor, int] | None]) -> tuple[torch.Tensor, torch.Tensor]:
    kept = [item for item in batch if item is not None]
    if not kept:
        return torch.empty(0), torch.empty(0, dtype=torch.long)
    return torch.stack([image for image, _ in kept]), torch.tensor([label for _, label in kept])


def validation_items(reader: FaceReader, max_frames: int) -> np.ndarray:
    """The annotated frames, or ``max_frames`` of them evenly spaced (the same ones every time)."""
    items = np.flatnonzero(reader.labels != UNLABELED)
    if 0 < max_frames < len(items):
        items = items[np.linspace(0, len(items) - 1, max_frames).round().astype(np.int64)]
    return items


@torch.no_grad()
def evaluate(
    model: nn.Module, reader: FaceReader, items: np.ndarray, transform: Transform, device: torch.device,
    batch_size: int = 64, workers: int = 0,
) -> F1Report:
    """Predict every item in eval mode and score it; the model's train/eval mode is restored."""
    was_training = model.training
    model.eval()
    loader = DataLoader(_Frames(reader, items, transform), batch_size=batch_size, num_workers=workers, collate_fn=_collate)
    targets, predictions = [], []
    for images, labels in loader:
        if len(labels):
            predictions.append(model(images.to(device)).argmax(-1).cpu())
            targets.append(labels)
    model.train(was_training)
    if not targets:
        return F1Report.from_labels(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    return F1Report.from_labels(torch.cat(targets).numpy(), torch.cat(predictions).numpy())
