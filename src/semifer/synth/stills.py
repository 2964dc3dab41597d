"""Still-image sources: AffectNet-like photos, ExpW-like scenes, MS1MV2-like identity crops.

Each ``make_*`` function renders one chunk in a worker process from its own seed, so the
output does not depend on how many workers share the chunks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from semifer.data.base import Box
from semifer.labels import (
    ABAW_TO_AFFECTNET,
    ABAW_TO_EXPW,
    AFFECTNET_TO_ABAW,
    NUM_CLASSES,
    OTHER,
    UNLABELED,
)
from semifer.synth.aus import still_aus
from semifer.synth.faces import CANVAS, IMAGE_SIZE, encode_jpeg, render
from semifer.synth.identity import Identity, sample_identity
from semifer.synth.nuisance import sample_background, sample_nuisance

# AffectNet codes 0..9 as written (No-Face is left out): roughly the real manual-set mix.
AFFECTNET_CODE_SHARE = np.array([0.22, 0.33, 0.08, 0.07, 0.04, 0.03, 0.08, 0.04, 0.07, 0.04])
EXPW_CLASS_SHARE = np.array([0.35, 0.06, 0.06, 0.03, 0.28, 0.12, 0.10, 0.0])  # ABAW order
# Celebrity photos: mostly neutral or smiling.
MS1MV2_CLASS_SHARE = np.array([0.45, 0.03, 0.02, 0.02, 0.30, 0.05, 0.05, 0.08])
# Share of labeled stills whose written label is another class (web annotation noise).
LABEL_NOISE = {"affectnet": 0.08, "expw": 0.15}
_VALENCE_AROUSAL = np.array(
    [
        [0.0, 0.0],
        [-0.5, 0.6],
        [-0.6, 0.3],
        [-0.6, 0.7],
        [0.7, 0.4],
        [-0.6, -0.3],
        [0.2, 0.7],
        [0.0, 0.2],
    ]
)
_CONTEMPT, _NONE, _UNCERTAIN = 7, 8, 9


@dataclass
class StillItem:
    """One face of a still source, with its truth for the manifest."""

    key: str  # the reader's key (AffectNet sub path, ExpW "<name>#<face_id>", MS1MV2: set on write)
    true_class: int
    label: int  # the ABAW label the reader will report (-1 when unlabeled)
    aus: np.ndarray
    identity: int


@dataclass
class AffectNetImage:
    item: StillItem
    split: str
    image: bytes
    box: Box
    code: int
    valence: float
    arousal: float


@dataclass
class ExpWImage:
    name: str
    image: bytes
    faces: list[tuple[int, Box, float, int]]
    items: list[StillItem]


@dataclass
class RecordImage:
    item: StillItem
    image: bytes


def _noisy(cls: int, rng: np.random.Generator, rate: float) -> int:
    """``cls``, or with probability ``rate`` another of the 7 basic classes."""
    if rng.random() >= rate:
        return cls
    return int(rng.choice([c for c in range(NUM_CLASSES) if c not in (cls, OTHER)]))


@lru_cache(maxsize=64)
def _blend_mask(side: int) -> np.ndarray:
    """Soft head-shaped alpha: the rendered crop's own lighting and noise must not leave a
    visible square in the scene (a seam a network could key on)."""
    mask = np.zeros((side, side), dtype=np.float32)
    cv2.ellipse(
        mask, (side // 2, int(side * 0.55)), (int(side * 0.4), int(side * 0.52)), 0, 0, 360, 1.0, -1
    )
    return cv2.GaussianBlur(mask, (0, 0), max(1.0, side / 16))[..., None]


def _paste_face(
    scene: np.ndarray,
    box: Box,
    who: Identity,
    aus: np.ndarray,
    level: float,
    rng: np.random.Generator,
) -> None:
    """Render a face over the scene behind ``box`` and blend it in."""
    region = scene[box.top : box.bottom, box.left : box.right]
    behind = cv2.resize(region, (CANVAS, CANVAS), interpolation=cv2.INTER_LINEAR)
    face = render(who, aus, behind, sample_nuisance(rng, level, CANVAS), rng)
    interpolation = cv2.INTER_AREA if box.width < IMAGE_SIZE else cv2.INTER_LINEAR
    face = cv2.resize(face, (box.width, box.height), interpolation=interpolation).astype(np.float32)
    alpha = _blend_mask(box.width)
    region[:] = np.rint(face * alpha + region.astype(np.float32) * (1 - alpha)).astype(np.uint8)


def make_affectnet(
    chunk: int, first: int, count: int, seed: int, validation_share: float
) -> list[AffectNetImage]:
    """AffectNet-like photos, one face per image with its box; codes 7-9 are unlabeled."""
    rng = np.random.default_rng(np.random.SeedSequence((seed, 2, chunk)))
    images: list[AffectNetImage] = []
    for index in range(first, first + count):
        code = int(rng.choice(len(AFFECTNET_CODE_SHARE), p=AFFECTNET_CODE_SHARE))
        if code == _UNCERTAIN:
            true_class = int(rng.integers(NUM_CLASSES))
        elif code in (_CONTEMPT, _NONE):
            true_class = OTHER if code == _CONTEMPT or rng.random() < 0.5 else 0
        else:
            true_class = AFFECTNET_TO_ABAW[code]
        weak = 0.7 if code == _UNCERTAIN else 0.35
        aus = still_aus(true_class, rng, weak)
        written = code
        if code < _CONTEMPT:
            written = ABAW_TO_AFFECTNET[_noisy(true_class, rng, LABEL_NOISE["affectnet"])]
        size = int(rng.integers(150, 230))
        side = int(rng.integers(int(size * 0.5), int(size * 0.8)))
        left, top = (int(v) for v in rng.integers(0, size - side + 1, 2))
        box = Box(left, top, left + side, top + side)
        scene = sample_background(rng, size)
        _paste_face(scene, box, sample_identity(rng), aus, float(rng.uniform(0.1, 0.5)), rng)
        strength = float(np.clip(aus.max(), 0, 1))
        valence, arousal = (_VALENCE_AROUSAL[true_class] * strength).round(3)
        label = AFFECTNET_TO_ABAW.get(written, UNLABELED)
        item = StillItem(
            f"{index // 1000:03d}/synth_{index:06d}.jpg", true_class, label, aus, index
        )
        split = "validation" if rng.random() < validation_share else "train"
        data = encode_jpeg(scene, int(rng.integers(70, 96)))
        images.append(
            AffectNetImage(item, split, data, box, written, float(valence), float(arousal))
        )
    return images


def make_expw(chunk: int, first: int, count: int, seed: int) -> list[ExpWImage]:
    """ExpW-like scenes with one to three faces each; ``count`` scenes, ids from ``first``."""
    rng = np.random.default_rng(np.random.SeedSequence((seed, 3, chunk)))
    images: list[ExpWImage] = []
    for index in range(first, first + count):
        height, width = int(rng.integers(180, 260)), int(rng.integers(240, 360))
        scene = sample_background(rng, max(height, width))[:height, :width].copy()
        faces_here = int(rng.choice([1, 2, 3], p=[0.7, 0.2, 0.1]))
        slot = width // faces_here
        name = f"synth_{index:06d}.jpg"
        faces: list[tuple[int, Box, float, int]] = []
        items: list[StillItem] = []
        for face_id in range(faces_here):
            side = int(min(slot, height) * rng.uniform(0.45, 0.9))
            left = face_id * slot + int(rng.integers(0, slot - side + 1))
            top = int(rng.integers(0, height - side + 1))
            box = Box(left, top, left + side, top + side)
            true_class = int(rng.choice(NUM_CLASSES, p=EXPW_CLASS_SHARE))
            aus = still_aus(true_class, rng, 0.45)
            _paste_face(scene, box, sample_identity(rng), aus, float(rng.uniform(0.3, 0.8)), rng)
            label = _noisy(true_class, rng, LABEL_NOISE["expw"])
            faces.append((face_id, box, round(float(rng.uniform(20, 100)), 3), ABAW_TO_EXPW[label]))
            items.append(
                StillItem(f"{name}#{face_id}", true_class, label, aus, index * 4 + face_id)
            )
        images.append(ExpWImage(name, encode_jpeg(scene, int(rng.integers(40, 90))), faces, items))
    return images


def make_ms1mv2(
    chunk: int, identities: list[int], per_identity: tuple[int, int], seed: int
) -> list[RecordImage]:
    """Aligned 112x112 crops of several people, grouped by identity (as MS1MV2 is sorted)."""
    rng = np.random.default_rng(np.random.SeedSequence((seed, 4, chunk)))
    records: list[RecordImage] = []
    for identity in identities:
        who = sample_identity(rng)
        for _ in range(int(rng.integers(per_identity[0], per_identity[1] + 1))):
            true_class = int(rng.choice(NUM_CLASSES, p=MS1MV2_CLASS_SHARE))
            aus = still_aus(true_class, rng, 0.5)
            background = sample_background(rng, CANVAS)
            image = render(
                who,
                aus,
                background,
                sample_nuisance(rng, float(rng.uniform(0.1, 0.5)), CANVAS),
                rng,
            )
            item = StillItem("", true_class, UNLABELED, aus, identity)
            records.append(RecordImage(item, encode_jpeg(image, int(rng.integers(75, 96)))))
    return records
