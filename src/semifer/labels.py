"""The ABAW expression taxonomy and every mapping into it, in one place.

Readers of other data sets (AffectNet, ExpW) map their codes here so that no module
hard-codes a class order of its own. Codes without an ABAW class (AffectNet's Contempt,
None, Uncertain, No-Face) become ``UNLABELED``: they are still faces, so they serve as
unlabeled data, never as "Other".
"""

from __future__ import annotations

import numpy as np

ABAW_CLASSES: tuple[str, ...] = ("Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "Other")
NUM_CLASSES = len(ABAW_CLASSES)
UNLABELED = -1
OTHER = ABAW_CLASSES.index("Other")

# AffectNet expression codes: 0 Neutral, 1 Happiness, 2 Sadness, 3 Surprise, 4 Fear,
# 5 Disgust, 6 Anger, 7 Contempt, 8 None, 9 Uncertain, 10 No-Face.
AFFECTNET_CODES = 11
AFFECTNET_TO_ABAW: dict[int, int] = {0: 0, 1: 4, 2: 5, 3: 6, 4: 3, 5: 2, 6: 1}
# ExpW codes: 0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral.
EXPW_CODES = 7
EXPW_TO_ABAW: dict[int, int] = {0: 1, 1: 2, 2: 3, 3: 4, 4: 5, 5: 6, 6: 0}

ABAW_TO_AFFECTNET: dict[int, int] = {abaw: code for code, abaw in AFFECTNET_TO_ABAW.items()}
ABAW_TO_EXPW: dict[int, int] = {abaw: code for code, abaw in EXPW_TO_ABAW.items()}


def affectnet_to_abaw(code: int) -> int:
    """Map an AffectNet expression code to ABAW, or ``UNLABELED`` for codes 7-10."""
    if not 0 <= code < AFFECTNET_CODES:
        raise ValueError(f"AffectNet expression code {code} is outside 0..{AFFECTNET_CODES - 1}")
    return AFFECTNET_TO_ABAW.get(code, UNLABELED)


def expw_to_abaw(code: int) -> int:
    """Map an ExpW expression code to ABAW (ExpW has no unlabeled codes)."""
    if not 0 <= code < EXPW_CODES:
        raise ValueError(f"ExpW expression code {code} is outside 0..{EXPW_CODES - 1}")
    return EXPW_TO_ABAW[code]


def split_per_class(labels: np.ndarray, per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The paper's mixing: keep ``per_class`` labeled images of each class, the rest unlabeled.

    Returns ``(labeled_indices, unlabeled_indices)`` into ``labels``. Items already
    ``UNLABELED`` always land in the unlabeled part; "Other" is never kept as labeled here,
    since in the paper it comes from Aff-Wild2 only. Classes with fewer than ``per_class``
    images keep all of theirs.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    keep: list[np.ndarray] = []
    for cls in range(NUM_CLASSES):
        if cls == OTHER:
            continue
        members = np.flatnonzero(labels == cls)
        keep.append(rng.permutation(members)[:per_class])
    labeled = np.sort(np.concatenate(keep)) if keep else np.empty(0, dtype=np.int64)
    unlabeled = np.setdiff1d(np.arange(len(labels)), labeled)
    return labeled.astype(np.int64), unlabeled.astype(np.int64)
