"""AUs, episodes and drawing: the pieces the generator is built from."""

from __future__ import annotations

import numpy as np
import pytest

from semifer.labels import ABAW_CLASSES, NUM_CLASSES, OTHER
from semifer.synth.aus import (
    AU_INDEX,
    AU_NAMES,
    NEUTRAL,
    PROTOTYPES,
    expression_aus,
    matching_prototypes,
)
from semifer.synth.episodes import LABEL_THRESHOLD, plan_video
from semifer.synth.faces import CANVAS, IMAGE_SIZE, render
from semifer.synth.identity import sample_identity
from semifer.synth.nuisance import Nuisance, sample_background
from semifer.synth.videos import plan_videos

# An AU counts as active from this intensity on when matching a set against the prototypes.
ACTIVE_THRESHOLD = 0.25


def active_set(aus: np.ndarray) -> frozenset[str]:
    """Names of the AUs at or above ``ACTIVE_THRESHOLD``."""
    return frozenset(AU_NAMES[i] for i in np.flatnonzero(np.asarray(aus) >= ACTIVE_THRESHOLD))


@pytest.mark.parametrize("cls", sorted(PROTOTYPES))
def test_a_strong_expression_activates_exactly_its_prototype(cls: int) -> None:
    aus = expression_aus(cls, 1.0, np.random.default_rng(cls))
    assert active_set(aus) == PROTOTYPES[cls]
    assert cls in matching_prototypes(active_set(aus))


def test_other_matches_no_prototype_and_neutral_moves_nothing() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        assert matching_prototypes(active_set(expression_aus(OTHER, 0.8, rng))) == []
    assert not expression_aus(NEUTRAL, 1.0, rng).any()


def test_video_labels_have_the_real_imbalance() -> None:
    rng = np.random.default_rng(0)
    classes = np.concatenate([plan_video(400, rng, 0.5).classes for _ in range(150)])
    share = np.bincount(classes, minlength=NUM_CLASSES) / len(classes)
    name = {cls: share[ABAW_CLASSES.index(cls)] for cls in ABAW_CLASSES}
    assert min(name["Neutral"], name["Other"]) > max(
        name[c] for c in ("Anger", "Disgust", "Fear", "Surprise")
    )
    assert max(name["Fear"], name["Disgust"]) < 0.06 < name["Happiness"]
    assert (share > 0).all()


def test_episodes_ramp_up_and_down_and_carry_their_label() -> None:
    timeline = plan_video(
        600, np.random.default_rng(3), 0.0, forced=(ABAW_CLASSES.index("Happiness"),)
    )
    expressive = timeline.classes != NEUTRAL
    assert expressive.any()
    assert (timeline.envelope[expressive] >= LABEL_THRESHOLD).all()
    starts = np.flatnonzero(np.diff(expressive.astype(int)) == 1) + 1
    # onset: the expression grows over several frames instead of switching on
    assert all(
        timeline.envelope[start] < timeline.envelope[start + 3]
        for start in starts
        if start + 3 < 600
    )
    happy = timeline.classes == ABAW_CLASSES.index("Happiness")
    assert (
        timeline.aus[happy, AU_INDEX["AU12"]].mean()
        > timeline.aus[~expressive, AU_INDEX["AU12"]].mean() + 0.1
    )


def test_forced_rare_classes_reach_every_split() -> None:
    rare = (ABAW_CLASSES.index("Fear"), ABAW_CLASSES.index("Disgust"))
    specs = plan_videos("validation", 4, (200, 300), np.random.default_rng(1), 0, 0, rare)
    assert sorted(c for spec in specs for c in spec.forced) == sorted(rare)
    many = plan_videos("train", 40, (50, 60), np.random.default_rng(1), 0, 0, ())
    names = [spec.name for spec in many]
    assert any(name.endswith("_left") for name in names) and len(set(names)) == 40
    for spec in many:
        if spec.name.endswith("_left"):
            partner = next(s for s in many if s.name == spec.name.replace("_left", "_right"))
            assert partner.length == spec.length and partner.identity != spec.identity


def test_render_is_deterministic_and_expressions_change_the_image() -> None:
    who = sample_identity(np.random.default_rng(5))
    background = sample_background(np.random.default_rng(6), CANVAS)
    neutral = render(who, np.zeros(12), background, Nuisance(), np.random.default_rng(0))
    again = render(who, np.zeros(12), background, Nuisance(), np.random.default_rng(0))
    happy = render(
        who,
        expression_aus(ABAW_CLASSES.index("Happiness"), 1.0, np.random.default_rng(0)),
        background,
        Nuisance(),
        np.random.default_rng(0),
    )
    assert neutral.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and neutral.dtype == np.uint8
    assert np.array_equal(neutral, again)
    changed = np.abs(happy.astype(int) - neutral.astype(int)).max(axis=2) > 30
    assert 30 < changed.sum() < IMAGE_SIZE * IMAGE_SIZE // 4, (
        "an expression should move features, not the whole face"
    )
