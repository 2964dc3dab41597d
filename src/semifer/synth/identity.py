"""Who a synthetic face belongs to: the parameters that stay fixed for one person.

Identity variation is one of the nuisances a recogniser must ignore, so it spans the
obvious axes of a face (shape, skin tone, hair, feature placement and size, accessories).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Color = tuple[int, int, int]

_SKIN_LIGHT = np.array([238.0, 206.0, 182.0])
_SKIN_DARK = np.array([92.0, 60.0, 44.0])
_HAIR_COLORS: tuple[Color, ...] = (
    (28, 24, 24), (60, 40, 28), (96, 64, 40), (196, 164, 104), (140, 64, 36), (168, 166, 160),
)  # fmt: skip
_IRIS_COLORS: tuple[Color, ...] = ((70, 44, 26), (40, 28, 20), (70, 110, 150), (80, 110, 70))
HAIR_STYLES = ("short", "long", "bald", "fringe")


@dataclass(frozen=True)
class Identity:
    """Fixed appearance of one person; lengths are fractions of the face's half-width."""

    face_width: float  # half-width of the head, in pixels of the 224-pixel drawing canvas
    face_height: float  # ratio of half-height to half-width
    jaw: float  # 0 round chin ... 1 narrow, pointed chin
    skin: Color
    hair: Color
    hair_style: str
    hairline: float  # how low the hairline sits (fraction of the half-height above centre)
    eye_spacing: float
    eye_size: float
    iris: Color
    brow_thickness: float
    brow_gap: float
    brow_arch: float
    nose_length: float
    nose_width: float
    mouth_width: float
    lip_thickness: float
    lip: Color
    clothing: Color
    glasses: bool
    beard: bool
    moustache: bool
    earrings: bool


def _color(values: np.ndarray) -> Color:
    clipped = np.clip(np.rint(values), 0, 255).astype(int)
    return (int(clipped[0]), int(clipped[1]), int(clipped[2]))


def sample_identity(rng: np.random.Generator) -> Identity:
    """Draw a random person; every field comes from ``rng`` so identities replay from a seed."""
    tone = rng.beta(1.6, 1.6)
    skin = _SKIN_LIGHT * (1 - tone) + _SKIN_DARK * tone + rng.normal(0, 6, 3)
    lip = skin * 0.72 + np.array([150.0, 62.0, 66.0]) * 0.28
    bearded = bool(rng.random() < 0.12)
    return Identity(
        face_width=float(rng.uniform(58, 68)),
        face_height=float(rng.uniform(1.12, 1.3)),
        jaw=float(rng.uniform(0.0, 1.0)),
        skin=_color(skin),
        hair=_HAIR_COLORS[int(rng.integers(len(_HAIR_COLORS)))],
        hair_style=HAIR_STYLES[int(rng.choice(4, p=[0.4, 0.3, 0.1, 0.2]))],
        hairline=float(rng.uniform(0.42, 0.62)),
        eye_spacing=float(rng.uniform(0.34, 0.44)),
        eye_size=float(rng.uniform(0.85, 1.15)),
        iris=_IRIS_COLORS[int(rng.integers(len(_IRIS_COLORS)))],
        brow_thickness=float(rng.uniform(0.6, 1.4)),
        brow_gap=float(rng.uniform(0.8, 1.2)),
        brow_arch=float(rng.uniform(0.0, 1.0)),
        nose_length=float(rng.uniform(0.85, 1.15)),
        nose_width=float(rng.uniform(0.8, 1.25)),
        mouth_width=float(rng.uniform(0.85, 1.2)),
        lip_thickness=float(rng.uniform(0.7, 1.3)),
        lip=_color(lip),
        clothing=_color(rng.uniform(30, 220, 3)),
        glasses=bool(rng.random() < 0.18),
        beard=bearded,
        moustache=bearded or bool(rng.random() < 0.06),
        earrings=bool(rng.random() < 0.12),
    )
