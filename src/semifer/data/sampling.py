"""Infinite, seeded, shardable samplers: class-balanced for labeled data, uniform for unlabeled.

A sampler here is a stream of draws: draw number ``p`` is a pure function of ``(seed, p)``,
so a resumed run continues the exact stream of an uninterrupted one, and each rank of a
distributed run takes its own slice of every global batch. Each draw travels as
``(item_index, draw_number)``; the dataset seeds the augmentation of that draw from the pair.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from semifer.errors import ConfigError
from semifer.labels import ABAW_CLASSES


class DrawStream:
    """Epochs of item indices of a fixed length, generated lazily from ``(seed, epoch)``."""

    def __init__(self, epoch_length: int, seed: int) -> None:
        if epoch_length <= 0:
            raise ConfigError("a sampler needs at least one item to draw")
        self.epoch_length = epoch_length
        self.seed = seed
        self._cached: tuple[int, np.ndarray] | None = None

    def make_epoch(self, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def epoch(self, number: int) -> np.ndarray:
        if self._cached is None or self._cached[0] != number:
            self._cached = (number, self.make_epoch(np.random.default_rng([self.seed, number])))
        return self._cached[1]

    def draw(self, position: int) -> int:
        epoch, offset = divmod(position, self.epoch_length)
        return int(self.epoch(epoch)[offset])


class UniformStream(DrawStream):
    """Every item once per epoch, in a fresh random order each epoch."""

    def __init__(self, num_items: int, seed: int) -> None:
        super().__init__(num_items, seed)
        self.num_items = num_items

    def make_epoch(self, rng: np.random.Generator) -> np.ndarray:
        return rng.permutation(self.num_items)


class BalancedStream(DrawStream):
    """Equal draws per class in every epoch, classes interleaved at random.

    Each epoch draws ``per_class`` items of every class present in ``classes`` (members
    cycled without replacement inside their own shuffled order), then shuffles the lot. With
    ``groups`` (a group per item, e.g. its source), each class's draws are split equally between
    the groups that hold that class, so a large group cannot crowd out a small one.

    Args:
        labels: ABAW label per item; ``UNLABELED`` items are never drawn.
        classes: the classes to balance; each must have at least one item.
        per_class: draws per class per epoch; default the largest class size.
        groups: optional group id per item.
    """

    def __init__(
        self, labels: np.ndarray, classes: list[int], seed: int, per_class: int = 0, groups: np.ndarray | None = None
    ) -> None:
        labels = np.asarray(labels)
        groups = np.zeros(len(labels), dtype=np.int64) if groups is None else np.asarray(groups)
        self.members = [
            [members for g in np.unique(groups) if (members := np.flatnonzero((labels == c) & (groups == g))).size]
            for c in classes
        ]
        empty = [ABAW_CLASSES[c] for c, parts in zip(classes, self.members) if not parts]
        if empty:
            raise ConfigError(
                f"the class-balanced sampler has no labeled sample of class {', '.join(empty)}; "
                "add labeled data for it or drop it from data.classes"
            )
        self.per_class = per_class or max(sum(m.size for m in parts) for parts in self.members)
        super().__init__(self.per_class * len(classes), seed)

    def make_epoch(self, rng: np.random.Generator) -> np.ndarray:
        draws = []
        for parts in self.members:
            for members, count in zip(parts, np.array_split(np.arange(self.per_class), len(parts))):
                repeats = -(-len(count) // members.size)
                cycled = np.concatenate([rng.permutation(members) for _ in range(repeats)])
                draws.append(cycled[: len(count)])
        return rng.permutation(np.concatenate(draws))


class ShardedBatches:
    """Batch sampler over a ``DrawStream``: global batch ``step`` split into ``world`` shards.

    Rank ``rank`` takes draws ``[step * B * world + rank * B, ... + B)``; iteration starts at
    ``start_step`` and never ends.
    """

    def __init__(self, stream: DrawStream, batch_size: int, rank: int = 0, world: int = 1, start_step: int = 0) -> None:
        self.stream = stream
        self.batch_size = batch_size
        self.rank = rank
        self.world = world
        self.start_step = start_step

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        step = self.start_step
        while True:
            first = (step * self.world + self.rank) * self.batch_size
            yield [(self.stream.draw(p), p) for p in range(first, first + self.batch_size)]
            step += 1
