"""Samplers: balanced per epoch, deterministic by draw number, sharded without overlap."""

from __future__ import annotations

import numpy as np
import pytest

from semifer.data.sampling import BalancedStream, ShardedBatches, UniformStream
from semifer.errors import ConfigError


def _take(batches: ShardedBatches, count: int) -> list[list[tuple[int, int]]]:
    iterator = iter(batches)
    return [next(iterator) for _ in range(count)]


def test_balanced_counts_equal_per_epoch() -> None:
    labels = np.array([0] * 50 + [1] * 7 + [2] * 3 + [5] * 20 + [-1] * 10)
    stream = BalancedStream(labels, [0, 1, 2, 5], seed=3)
    assert stream.epoch_length == 4 * 50
    for epoch in range(3):
        drawn = labels[stream.epoch(epoch)]
        counts = np.bincount(drawn, minlength=6)[[0, 1, 2, 5]]
        assert counts.max() - counts.min() <= 1 and counts.min() == 50
        assert (drawn != -1).all()
    # a rare class is cycled through all its members before any repeats
    first_epoch = stream.epoch(0)
    assert set(first_epoch[labels[first_epoch] == 2]) == set(np.flatnonzero(labels == 2))


def test_batches_are_a_pure_function_of_step_and_shard() -> None:
    stream = UniformStream(37, seed=1)
    whole = _take(ShardedBatches(stream, 4), 6)
    resumed = _take(ShardedBatches(UniformStream(37, seed=1), 4, start_step=3), 3)
    assert resumed == whole[3:]
    rank0 = _take(ShardedBatches(stream, 2, rank=0, world=2), 3)
    rank1 = _take(ShardedBatches(stream, 2, rank=1, world=2), 3)
    assert [a + b for a, b in zip(rank0, rank1)] == _take(ShardedBatches(stream, 4), 3)
    first_epoch = [stream.draw(p) for p in range(37)]
    assert sorted(first_epoch) == list(range(37))  # every item once per epoch


def test_class_without_labeled_items_is_named() -> None:
    with pytest.raises(ConfigError, match="Disgust"):
        BalancedStream(np.array([0, 1, 1, -1]), [0, 1, 2], seed=0)


def test_balanced_by_source_splits_each_class_between_the_sources_that_hold_it() -> None:
    # source 0 (video frames): many of classes 0 and 7; source 1 (stills): a few of class 0 only
    labels = np.array([0] * 90 + [7] * 40 + [0] * 6)
    sources = np.array([0] * 130 + [1] * 6)
    stream = BalancedStream(labels, [0, 7], seed=2, groups=sources)
    assert stream.epoch_length == 2 * 96
    drawn = stream.epoch(0)
    assert (labels[drawn] == 0).sum() == 96 and (labels[drawn] == 7).sum() == 96
    assert (sources[drawn] == 1).sum() == 48  # half of class 0's draws: each still 8 times
    assert np.bincount(drawn[sources[drawn] == 1]).max() == 8
    plain = BalancedStream(labels, [0, 7], seed=2)
    assert (sources[plain.epoch(0)] == 1).sum() < 12  # without it the stills are drawn by their count
    same = BalancedStream(labels, [0, 7], seed=2, groups=np.zeros(len(labels), dtype=np.int64))
    assert np.array_equal(same.epoch(1), plain.epoch(1))  # one group: the plain stream, draw for draw
