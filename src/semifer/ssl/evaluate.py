"""Validation: macro F1 of a frame model on the annotated Aff-Wild2 validation frames."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from semifer.data.base import CorruptImageError, FaceReader
from semifer.data.transforms import Transform
from semifer.labels import NUM_CLASSES, UNLABELED
from semifer.metrics import F1Report, confusion_matrix, macro_f1_from_matrix, per_class_f1
from semifer.runs.distributed import all_reduce_sum


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


def _collate(batch: list[tuple[torch.Tensor, int] | None]) -> tuple[torch.Tensor, torch.Tensor, int]:
    kept = [item for item in batch if item is not None]
    skipped = len(batch) - len(kept)
    if not kept:
        return torch.empty(0), torch.empty(0, dtype=torch.long), skipped
    return torch.stack([image for image, _ in kept]), torch.tensor([label for _, label in kept]), skipped


def validation_items(reader: FaceReader, max_frames: int) -> np.ndarray:
    """The annotated frames, or ``max_frames`` of them evenly spaced (the same ones every time)."""
    items = np.flatnonzero(reader.labels != UNLABELED)
    if 0 < max_frames < len(items):
        items = items[np.linspace(0, len(items) - 1, max_frames).round().astype(np.int64)]
    return items


@torch.no_grad()
def evaluate(
    model: nn.Module, reader: FaceReader, items: np.ndarray, transform: Transform, device: torch.device,
    batch_size: int = 64, workers: int = 0, rank: int = 0, world: int = 1,
) -> tuple[F1Report, int]:
    """Predict every item in eval mode and score it; the model's train/eval mode is restored.

    Returns the report and the number of items left out because their image could not be
    decoded. Under torchrun each of the ``world`` ranks predicts every ``world``-th item and
    the counts are summed over ranks (a tensor on ``device``, as nccl needs), so every rank
    returns the figures of all items.
    """
    was_training = model.training
    model.eval()
    shard = _Frames(reader, items[rank::world], transform)
    loader = DataLoader(shard, batch_size=batch_size, num_workers=workers, collate_fn=_collate)
    counts = np.zeros((NUM_CLASSES * NUM_CLASSES + 1), dtype=np.int64)  # confusion matrix, then skipped
    for images, labels, skipped in loader:
        counts[-1] += skipped
        if len(labels):
            predictions = model(images.to(device)).argmax(-1).cpu().numpy()
            counts[:-1] += confusion_matrix(labels.numpy(), predictions).ravel()
    model.train(was_training)
    if world > 1:
        counts = all_reduce_sum(torch.from_numpy(counts).to(device)).cpu().numpy()
    matrix = counts[:-1].reshape(NUM_CLASSES, NUM_CLASSES)
    return F1Report(macro_f1_from_matrix(matrix), per_class_f1(matrix), matrix), int(counts[-1])
