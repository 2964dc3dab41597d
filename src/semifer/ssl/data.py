"""Stage-1 data: the labeled and unlabeled pools built from the configured sources, and loaders.

Every draw is ``(item, draw_number)`` (see ``semifer.data.sampling``) and its augmentation is
seeded from ``(seed, pool, draw_number)``, so a batch is the same whichever worker decodes it
and whether or not the run was resumed. Undecodable images are skipped and counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from semifer.data.base import CorruptImageError, DataFormatError, FaceReader
from semifer.data.batch_views import BatchViews
from semifer.data.decoded_cache import DecodedImages, open_decoded
from semifer.data.sampling import BalancedStream, ShardedBatches, UniformStream
from semifer.data.transforms import WeakStrongViews, weak_transform
from semifer.errors import ConfigError
from semifer.labels import ABAW_CLASSES, UNLABELED, split_per_class
from semifer.models.backbone import FrameModelSpec
from semifer.ssl.config import DataConfig

log = logging.getLogger(__name__)
LABELED_STREAM, UNLABELED_STREAM = 0, 1


class FacePool:
    """Chosen items of several readers seen as one indexable pool with one label array."""

    def __init__(self, parts: list[tuple[FaceReader, np.ndarray]], labeled: bool) -> None:
        self.parts = [(reader, np.asarray(items, dtype=np.int64)) for reader, items in parts]
        self.offsets = np.cumsum([0] + [len(items) for _, items in self.parts])
        labels = [reader.labels[items] for reader, items in self.parts]
        self.labels = np.concatenate(labels) if labels else np.empty(0, dtype=np.int64)
        if not labeled:
            self.labels = np.full_like(self.labels, UNLABELED)

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def locate(self, index: int) -> tuple[FaceReader, int]:
        part = int(np.searchsorted(self.offsets, index, side="right")) - 1
        reader, items = self.parts[part]
        return reader, int(items[index - self.offsets[part]])

    def load(self, index: int) -> np.ndarray:
        reader, item = self.locate(index)
        return reader.load(item)


class SeededViews(Dataset):
    """Decodes pool items and applies ``transform`` with an RNG seeded by the draw number."""

    def __init__(self, pool: FacePool, transform: Callable[[np.ndarray], Any], seed: int, stream: int) -> None:
        self.pool, self.transform, self.seed, self.stream = pool, transform, seed, stream

    def __len__(self) -> int:
        return len(self.pool)

    def __getitem__(self, draw: tuple[int, int]) -> tuple[Any, int, int] | None:
        index, position = draw
        try:
            image = self.pool.load(index)
        except CorruptImageError as error:
            log.warning("skipped: %s", error)
            return None
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(hash((self.seed, self.stream, position)) & 0x7FFF_FFFF_FFFF)
            views = self.transform(image)
        return views, int(self.pool.labels[index]), index


def collate_views(items: list[tuple[Any, int, int] | None]) -> dict[str, Any]:
    """Stack a batch whose images are a tensor or a tuple of views; count skipped items."""
    kept = [item for item in items if item is not None]
    first = kept[0][0] if kept else None
    if isinstance(first, tuple):
        images: Any = tuple(torch.stack([item[0][v] for item in kept]) for v in range(len(first)))
    else:
        images = torch.stack([item[0] for item in kept]) if kept else torch.empty(0)
    return {
        "images": images,
        "labels": torch.tensor([item[1] for item in kept], dtype=torch.long),
        "indices": torch.tensor([item[2] for item in kept], dtype=torch.long),
        "skipped": len(items) - len(kept),
    }


@dataclass
class SpatialData:
    """What a stage-1 run trains and validates on."""

    labeled: FacePool
    unlabeled: FacePool
    validation: FaceReader | None = None
    unlabeled_truth: np.ndarray | None = None  # true class per unlabeled item (synthetic data)


def _subset(count: int, fraction: float, seed: int) -> np.ndarray:
    if fraction >= 1.0:
        return np.arange(count)
    keep = max(1, round(count * fraction))
    return np.sort(np.random.default_rng(seed).choice(count, size=keep, replace=False))


def under_root(config: DataConfig, path: str) -> str:
    """``path`` itself, or ``data.root / path`` for a relative path when a root is set."""
    return str(Path(config.root) / path) if config.root and path and not Path(path).is_absolute() else path


def build_data(config: DataConfig, seed: int) -> SpatialData:
    """Open every source, check it, and split it into the labeled and unlabeled pools."""
    config = replace(
        config,
        sources=[replace(entry, path=under_root(config, entry.path)) for entry in config.sources],
        manifest=under_root(config, config.manifest),
        validation_root=under_root(config, config.validation_root),
    )
    if not config.sources:
        raise ConfigError("data.sources is empty: name at least one labeled source")
    for number, entry in enumerate(config.sources):
        key = f"data.sources[{number}]"
        if not Path(entry.path).exists():
            raise ConfigError(f"{key}.path does not exist: {entry.path}")
    from semifer.data.sources import SourceConfig, open_reader

    labeled: list[tuple[FaceReader, np.ndarray]] = []
    unlabeled: list[tuple[FaceReader, np.ndarray]] = []
    merged: list[tuple[FaceReader, np.ndarray]] = []  # the `split` sources, drawn from as one pool
    for number, entry in enumerate(config.sources):
        key = f"data.sources[{number}]"
        source = SourceConfig(format=entry.format, path=entry.path, split=entry.split, labeled=entry.use != "unlabeled")
        try:
            reader = open_reader(source)
        except DataFormatError as error:
            raise ConfigError(f"{key}: {error}") from None
        if len(reader) == 0:
            raise ConfigError(f"{key}.path holds no images: {entry.path}")
        items = _subset(len(reader), entry.fraction, seed + number)
        if entry.use == "unlabeled":
            unlabeled.append((reader, items))
        elif entry.use == "split":
            merged.append((reader, items))
        else:
            labels = reader.labels[items]
            labeled.append((reader, items[labels != UNLABELED]))
            unlabeled.append((reader, items[labels == UNLABELED]))
    for keep, rest in _split_merged(merged, config.per_class, seed):
        labeled.append(keep)
        unlabeled.append(rest)
    data = SpatialData(FacePool(labeled, labeled=True), FacePool(unlabeled, labeled=False))
    if len(data.labeled) == 0:
        raise ConfigError("the configured data.sources hold no labeled images")
    if config.validation_root:
        data.validation = _validation_reader(config)
    if config.manifest:
        data.unlabeled_truth = _truth(config.manifest, data.unlabeled)
    return data


def _split_merged(
    parts: list[tuple[FaceReader, np.ndarray]], per_class: int, seed: int
) -> list[tuple[tuple[FaceReader, np.ndarray], tuple[FaceReader, np.ndarray]]]:
    """The paper's mixing: ``per_class`` labeled images per class drawn from the merged
    ``split`` sources (AffectNet + ExpW as one pool), the rest of them unlabeled."""
    if not parts:
        return []
    labels = np.concatenate([reader.labels[items] for reader, items in parts])
    keep, _ = split_per_class(labels, per_class, seed)
    chosen = np.zeros(len(labels), dtype=bool)
    chosen[keep] = True
    offsets = np.cumsum([0] + [len(items) for _, items in parts])
    return [
        ((reader, items[chosen[start:end]]), (reader, items[~chosen[start:end]]))
        for (reader, items), start, end in zip(parts, offsets[:-1], offsets[1:])
    ]


def _validation_reader(config: DataConfig) -> FaceReader:
    from semifer.data.affwild2 import AffWild2Frames

    if not Path(config.validation_root).is_dir():
        raise ConfigError(f"data.validation_root does not exist: {config.validation_root}")
    return AffWild2Frames(config.validation_root, "validation")


def _truth(manifest: str, pool: FacePool) -> np.ndarray:
    from semifer.synth.manifest import true_labels

    if not Path(manifest).is_file():
        raise ConfigError(f"data.manifest does not exist: {manifest}")
    truths = [true_labels(Path(manifest), reader)[items] for reader, items in pool.parts]
    return np.concatenate(truths) if truths else np.empty(0, dtype=np.int64)


class DecodedBatches(Dataset):
    """Whole batches from a ``DecodedImages`` cache, their views made on batched tensors.

    DataLoader hands ``__getitems__`` a batch's draws; the views are seeded from the batch's
    first draw number, so a batch is the same whichever worker makes it and after a resume.
    """

    def __init__(
        self, images: DecodedImages, labels: np.ndarray, views: Callable[[torch.Tensor], Any], seed: int, stream: int
    ) -> None:
        self.images, self.labels, self.views, self.seed, self.stream = images, labels, views, seed, stream

    def __len__(self) -> int:
        return len(self.labels)

    def __getitems__(self, draws: list[tuple[int, int]]) -> dict[str, Any]:
        indices = np.array([index for index, _ in draws], dtype=np.int64)
        kept = indices[self.images.valid[indices]]
        pixels = BatchViews.as_tensor(self.images.pixels[kept])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(hash((self.seed, self.stream, draws[0][1])) & 0x7FFF_FFFF_FFFF)
            images = self.views(pixels)
        return {
            "images": images,
            "labels": torch.from_numpy(self.labels[kept]),
            "indices": torch.from_numpy(kept),
            "skipped": len(indices) - len(kept),
        }


def _whole_batch(batch: dict[str, Any]) -> dict[str, Any]:
    return batch


def infinite_loader(
    dataset: SeededViews | DecodedBatches, stream: BalancedStream | UniformStream, batch_size: int, rank: int,
    world: int, start_step: int, workers: int,
) -> Iterator[dict[str, Any]]:
    """Batches of ``dataset`` for this rank from global step ``start_step`` on, forever."""
    sampler = ShardedBatches(stream, batch_size, rank, world, start_step)
    loader = DataLoader(
        dataset, batch_sampler=sampler, num_workers=workers,
        collate_fn=_whole_batch if isinstance(dataset, DecodedBatches) else collate_views,
        persistent_workers=workers > 0, prefetch_factor=2 if workers > 0 else None,
        generator=torch.Generator().manual_seed(0),  # views are seeded per draw: leave the global RNG alone
    )
    return iter(loader)


def training_views(
    data: SpatialData, config: DataConfig, spec: FrameModelSpec, seed: int, with_unlabeled: bool, second_weak: bool = False
) -> tuple[Dataset, Dataset | None]:
    """The labeled (weak view) and unlabeled (weak, strong, and a second weak view with
    ``second_weak``) datasets a stage-1 run draws from.

    With ``data.decoded_cache`` set, every face is decoded once into a memory-mapped cache and
    augmented in batches; otherwise each draw is decoded and augmented on its own.
    """
    if not config.decoded_cache:
        labeled: Dataset = SeededViews(data.labeled, weak_transform(spec), seed, LABELED_STREAM)
        views = WeakStrongViews(spec, config.randaugment_ops, config.randaugment_magnitude, second_weak)
        unlabeled = SeededViews(data.unlabeled, views, seed, UNLABELED_STREAM) if with_unlabeled else None
        return labeled, unlabeled
    batch_views = BatchViews(
        spec.image_size, spec.mean, spec.std, num_ops=config.randaugment_ops, magnitude=config.randaugment_magnitude
    )
    folder = Path(under_root(config, config.decoded_cache))
    labeled_cache = open_decoded(data.labeled, spec.resize_size, folder / "labeled.npy")
    labeled = DecodedBatches(labeled_cache, data.labeled.labels, batch_views.weak, seed, LABELED_STREAM)
    if not with_unlabeled:
        return labeled, None
    unlabeled_cache = open_decoded(data.unlabeled, spec.resize_size, folder / "unlabeled.npy")
    unlabeled_views = batch_views.both_and_second_weak if second_weak else batch_views.both
    return labeled, DecodedBatches(unlabeled_cache, data.unlabeled.labels, unlabeled_views, seed, UNLABELED_STREAM)


def balanced_stream(pool: FacePool, config: DataConfig, seed: int) -> BalancedStream:
    """The class-balanced stream over ``data.classes`` (with ``data.balance_sources``, each class
    split equally between the sources that hold it); a class without labeled images stops the run."""
    lookup = {name.lower(): number for number, name in enumerate(ABAW_CLASSES)}
    unknown = [name for name in config.classes if name.lower() not in lookup]
    if unknown:
        raise ConfigError(f"data.classes: unknown class {', '.join(unknown)}; ABAW classes are {', '.join(ABAW_CLASSES)}")
    classes = [lookup[name.lower()] for name in config.classes]
    sources = np.repeat(np.arange(len(pool.parts)), np.diff(pool.offsets)) if config.balance_sources else None
    return BalancedStream(pool.labels, classes, seed, config.balanced_per_class, sources)
