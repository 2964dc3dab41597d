from collections import Counter

import numpy as np
import pytest

from semifer.smoothing import fill_missing, sliding_mode, smooth, window_vote


def reference_window_vote(labels: list[int], window: int) -> list[int]:
    out: list[int] = []
    for start in range(0, len(labels), window):
        block = labels[start : start + window]
        counts = Counter(block)
        best = max(counts.values())
        out += [min(label for label, count in counts.items() if count == best)] * len(block)
    return out


def reference_sliding_mode(labels: list[int], window: int) -> list[int]:
    out = []
    for t in range(len(labels)):
        lo = max(t - window // 2, 0)
        counts = Counter(labels[lo : lo + window])
        best = max(counts.values())
        out.append(min(label for label, count in counts.items() if count == best))
    return out


@pytest.mark.parametrize("seed", range(20))
def test_window_vote_matches_reference_including_ties_and_short_tails(seed: int) -> None:
    rng = np.random.default_rng(seed)
    length = int(rng.integers(1, 200))
    window = int(rng.choice([1, 2, 4, 7, 30, 300]))
    # Few classes and short windows make ties frequent.
    labels = rng.integers(0, int(rng.integers(1, 9)), size=length)
    np.testing.assert_array_equal(window_vote(labels, window), reference_window_vote(labels.tolist(), window))
    np.testing.assert_array_equal(sliding_mode(labels, window), reference_sliding_mode(labels.tolist(), window))


def test_ties_go_to_the_smallest_label_and_tail_is_its_own_window() -> None:
    labels = np.array([5, 5, 2, 2, 7, 7, 7, 1])
    np.testing.assert_array_equal(window_vote(labels, 4), [2, 2, 2, 2, 7, 7, 7, 7])
    np.testing.assert_array_equal(window_vote(np.array([3, 1]), 30), [1, 1])
    assert window_vote(np.array([], dtype=np.int64), 30).size == 0


def test_smooth_dispatch_and_bad_input() -> None:
    labels = np.array([0, 1, 1])
    np.testing.assert_array_equal(smooth(labels, "none"), labels)
    np.testing.assert_array_equal(smooth(labels, "window", 3), [1, 1, 1])
    with pytest.raises(ValueError, match="unknown smoothing"):
        smooth(labels, "median")
    with pytest.raises(ValueError, match="0..7"):
        window_vote(np.array([0, 8]))


def test_fill_missing_interpolates_between_neighbours_and_copies_at_the_ends() -> None:
    probabilities = np.zeros((6, 2))
    probabilities[1] = [1.0, 0.0]
    probabilities[4] = [0.0, 1.0]
    has_face = np.array([False, True, False, False, True, False])
    filled = fill_missing(probabilities, has_face)
    np.testing.assert_allclose(filled[:, 1], [0, 0, 1 / 3, 2 / 3, 1, 1])
    np.testing.assert_allclose(filled.sum(axis=1), 1)
    np.testing.assert_allclose(fill_missing(probabilities, np.zeros(6, bool)), 0.5)
    np.testing.assert_array_equal(fill_missing(probabilities, np.ones(6, bool)), probabilities)


def test_runs_gives_the_spans_of_true_flags() -> None:
    from semifer.smoothing import runs

    flags = np.array([True, True, False, False, True, False, True])
    assert runs(flags) == [(0, 2), (4, 5), (6, 7)]
    assert runs(np.zeros(4, dtype=bool)) == []


def test_a_smoothing_typo_stops_the_stage2_config_at_load() -> None:
    from semifer.config import load_config, recipe_path
    from semifer.errors import ConfigError
    from semifer.temporal.config import TemporalConfig

    config = load_config(TemporalConfig, recipe_path("temporal-demo"), ["features=cache", "smoothing=sliding"])
    assert config.smoothing == "sliding"
    with pytest.raises(ConfigError, match=r"'windw', expected one of \[window, sliding, none\]"):
        load_config(TemporalConfig, recipe_path("temporal-demo"), ["features=cache", "smoothing=windw"])
    with pytest.raises(ConfigError, match="unknown smoothing method 'windw'"):
        TemporalConfig(features="cache", smoothing="windw")  # type: ignore[arg-type]
