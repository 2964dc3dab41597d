"""A labeled grid of faces: every class at several intensities and identities.

It is how a person checks at a glance that the faces look like faces and that the classes
differ (and that weak ones do not differ much).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from semifer.labels import ABAW_CLASSES, NUM_CLASSES
from semifer.synth.aus import AU_NAMES, expression_aus
from semifer.synth.faces import CANVAS, IMAGE_SIZE, render
from semifer.synth.identity import sample_identity
from semifer.synth.nuisance import Nuisance, sample_background

INTENSITIES = (0.25, 0.5, 0.75, 1.0)
IDENTITIES = 2
_LEFT, _TOP, _CAPTION = 100, 24, 14
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def sheet_size() -> tuple[int, int]:
    """``(width, height)`` of the contact sheet in pixels."""
    columns = len(INTENSITIES) * IDENTITIES
    return _LEFT + columns * IMAGE_SIZE, _TOP + NUM_CLASSES * (IMAGE_SIZE + _CAPTION)


def _text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float) -> None:
    cv2.putText(image, text, origin, _FONT, scale, (20, 20, 20), 1, cv2.LINE_AA)


def _caption(aus: np.ndarray) -> str:
    active = [AU_NAMES[i][2:] for i in np.flatnonzero(aus >= 0.1)]
    return "+".join(active) if active else "-"


def contact_sheet(seed: int) -> np.ndarray:
    """The sheet as an RGB array: rows are classes, columns intensity x identity."""
    rng = np.random.default_rng(np.random.SeedSequence((seed, 5)))
    people = [(sample_identity(rng), sample_background(rng, CANVAS)) for _ in range(IDENTITIES)]
    width, height = sheet_size()
    sheet = np.full((height, width, 3), 250, dtype=np.uint8)
    columns = [(intensity, person) for intensity in INTENSITIES for person in range(IDENTITIES)]
    for column, (intensity, _) in enumerate(columns):
        _text(sheet, f"s={intensity:.2f}", (_LEFT + column * IMAGE_SIZE + 30, 16), 0.45)
    for cls in range(NUM_CLASSES):
        y = _TOP + cls * (IMAGE_SIZE + _CAPTION)
        _text(sheet, ABAW_CLASSES[cls], (6, y + IMAGE_SIZE // 2), 0.5)
        for column, (intensity, person) in enumerate(columns):
            who, background = people[person]
            aus = expression_aus(cls, intensity, rng)
            x = _LEFT + column * IMAGE_SIZE
            sheet[y : y + IMAGE_SIZE, x : x + IMAGE_SIZE] = render(
                who, aus, background, Nuisance(), rng
            )
            _text(sheet, _caption(aus), (x + 3, y + IMAGE_SIZE + 11), 0.3)
    return sheet


def write_contact_sheet(path: Path, seed: int) -> None:
    """Write the contact sheet PNG (deterministic for a seed)."""
    image = contact_sheet(seed)
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError(f"{path}: could not write the contact sheet")
