"""Facial Action Units and the EMFACS prototypes that turn them into ABAW classes.

A synthetic face is described by 12 AU intensities in [0, 1]. Each ABAW class is an EMFACS
prototype (a set of AUs); an expression of class c at intensity s activates the prototype's
AUs at about s. Weak expressions (small s) are therefore close to Neutral and to each other,
which is what makes the data ambiguous in the way real in-the-wild faces are.
"""

from __future__ import annotations

import numpy as np

from semifer.labels import ABAW_CLASSES, NUM_CLASSES, OTHER

AU_NAMES: tuple[str, ...] = (
    "AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU12", "AU15", "AU20", "AU23", "AU26",
)  # fmt: skip
NUM_AUS = len(AU_NAMES)
AU_INDEX: dict[str, int] = {name: i for i, name in enumerate(AU_NAMES)}

NEUTRAL = ABAW_CLASSES.index("Neutral")

# EMFACS prototypes by ABAW class index; Neutral activates nothing, Other has no prototype.
PROTOTYPES: dict[int, frozenset[str]] = {
    ABAW_CLASSES.index("Happiness"): frozenset({"AU6", "AU12"}),
    ABAW_CLASSES.index("Sadness"): frozenset({"AU1", "AU4", "AU15"}),
    ABAW_CLASSES.index("Surprise"): frozenset({"AU1", "AU2", "AU5", "AU26"}),
    ABAW_CLASSES.index("Fear"): frozenset({"AU1", "AU2", "AU4", "AU5", "AU7", "AU20", "AU26"}),
    ABAW_CLASSES.index("Anger"): frozenset({"AU4", "AU5", "AU7", "AU23"}),
    ABAW_CLASSES.index("Disgust"): frozenset({"AU9", "AU15"}),
}

# A set of active AUs "matches" a prototype when their Jaccard overlap reaches this value:
# AU12 alone (0.5 with Happiness) still reads as a smile, AU12+AU15 (0.33) does not.
MATCH_JACCARD = 0.5
# Resting faces are not perfectly still: every AU gets a little activity with this chance.
BACKGROUND_CHANCE = 0.3
BACKGROUND_MAX = 0.18


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def matching_prototypes(active: frozenset[str]) -> list[int]:
    """Classes whose prototype the set of active AUs matches (Jaccard >= ``MATCH_JACCARD``)."""
    return [cls for cls, proto in PROTOTYPES.items() if _jaccard(active, proto) >= MATCH_JACCARD]


def background_aus(rng: np.random.Generator) -> np.ndarray:
    """Small resting activity on random AUs: a neutral face is never exactly zero."""
    on = rng.random(NUM_AUS) < BACKGROUND_CHANCE
    return np.where(on, rng.uniform(0.0, BACKGROUND_MAX, NUM_AUS), 0.0)


def _other_combination(rng: np.random.Generator) -> frozenset[str]:
    """A set of 1-3 AUs that matches no prototype (rejection sampling, a few tries)."""
    while True:
        size = int(rng.integers(1, 4))
        chosen = frozenset(rng.choice(AU_NAMES, size=size, replace=False).tolist())
        if not matching_prototypes(chosen):
            return chosen


def expression_aus(cls: int, intensity: float, rng: np.random.Generator) -> np.ndarray:
    """Apex AU intensities of an expression of ABAW class ``cls`` at strength ``intensity``.

    Each prototype AU gets ``intensity`` times a per-AU factor in [0.7, 1.1] (people do not
    move every muscle equally); Neutral returns zeros. Background activity is added by the
    caller, so that videos can keep it constant across an episode.
    """
    if not 0 <= cls < NUM_CLASSES:
        raise ValueError(f"class {cls} is outside 0..{NUM_CLASSES - 1}")
    aus = np.zeros(NUM_AUS)
    if cls == NEUTRAL:
        return aus
    names = _other_combination(rng) if cls == OTHER else PROTOTYPES[cls]
    for index in sorted(AU_INDEX[name] for name in names):  # not set order: it changes per process
        aus[index] = intensity * rng.uniform(0.7, 1.1)
    return np.clip(aus, 0.0, 1.0)


def sample_intensity(rng: np.random.Generator, weak_share: float) -> float:
    """Expression strength: a ``weak_share`` of draws in [0.12, 0.4], the rest in [0.4, 1]."""
    if rng.random() < weak_share:
        return float(rng.uniform(0.12, 0.4))
    return float(rng.uniform(0.4, 1.0))


def still_aus(cls: int, rng: np.random.Generator, weak_share: float) -> np.ndarray:
    """AU intensities of a still image of class ``cls``: expression plus resting activity."""
    apex = expression_aus(cls, sample_intensity(rng, weak_share), rng)
    return np.clip(apex + background_aus(rng), 0.0, 1.0)
