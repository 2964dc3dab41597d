"""Everything about an image that is not the expression: pose, light, optics, occluders, scene.

Each source draws its own nuisance strength (``level``), which is how the sources differ in
domain, as AffectNet's posed web photos differ from Aff-Wild2's video frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from semifer.synth.identity import Color


@dataclass(frozen=True)
class Occluder:
    """A hand or an object in front of part of the face (canvas coordinates)."""

    kind: str  # "hand" or "object"
    centre: tuple[float, float]
    size: tuple[float, float]
    angle: float
    color: Color


@dataclass(frozen=True)
class Nuisance:
    """How one image is seen; the defaults are a clean, frontal, well-lit photo."""

    roll: float = 0.0  # degrees, head roll
    scale: float = 1.0
    shift: tuple[float, float] = (0.0, 0.0)  # pixels of the 112-pixel image
    gain: float = 1.0  # overall brightness
    gradient: float = 0.0  # side lighting: relative brightness change across the image
    gradient_angle: float = 0.0  # radians
    blur: float = 0.0  # Gaussian sigma in pixels of the 112-pixel image
    noise: float = 0.0  # sensor noise standard deviation, grey levels
    jpeg_quality: int = 92
    occluder: Occluder | None = None


def sample_occluder(rng: np.random.Generator, canvas: int) -> Occluder:
    """A hand near the mouth or chin, or a coloured object anywhere over the lower face."""
    if rng.random() < 0.5:
        tone = rng.uniform(0.3, 1.0)
        color = tuple(int(c * tone) for c in (236, 196, 170))
        centre = (canvas * rng.uniform(0.3, 0.7), canvas * rng.uniform(0.72, 0.92))
        return Occluder(
            "hand",
            centre,
            (canvas * rng.uniform(0.12, 0.2), canvas * rng.uniform(0.16, 0.24)),
            float(rng.uniform(-40, 40)),
            color,
        )  # type: ignore[arg-type]
    color = tuple(int(c) for c in rng.integers(20, 235, 3))
    centre = (canvas * rng.uniform(0.15, 0.85), canvas * rng.uniform(0.55, 0.95))
    return Occluder(
        "object",
        centre,
        (canvas * rng.uniform(0.08, 0.2), canvas * rng.uniform(0.08, 0.16)),
        float(rng.uniform(-30, 30)),
        color,
    )  # type: ignore[arg-type]


def draw_occluder(canvas: np.ndarray, occluder: Occluder) -> None:
    """Paint ``occluder`` onto the canvas in place."""
    centre = (round(occluder.centre[0]), round(occluder.centre[1]))
    axes = (round(occluder.size[0]), round(occluder.size[1]))
    if occluder.kind == "hand":
        cv2.ellipse(canvas, centre, axes, occluder.angle, 0, 360, occluder.color, -1, cv2.LINE_AA)
        dark = tuple(int(c * 0.75) for c in occluder.color)
        for k in (-1, 0, 1):
            dx = k * axes[0] * 0.35
            cv2.line(
                canvas,
                (round(centre[0] + dx), centre[1] - axes[1] // 2),
                (round(centre[0] + dx), centre[1] - axes[1]),
                dark,
                2,
                cv2.LINE_AA,
            )
        return
    box = (
        (occluder.centre[0], occluder.centre[1]),
        (2 * occluder.size[0], 2 * occluder.size[1]),
        occluder.angle,
    )
    corners = np.rint(cv2.boxPoints(box)).astype(np.int32)
    cv2.fillPoly(canvas, [corners], occluder.color, cv2.LINE_AA)


@lru_cache(maxsize=4)
def _direction_grids(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Centred x and y coordinates in [-0.5, 0.5), shared by every image of one size."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return xs / width - 0.5, ys / height - 0.5


def sample_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A scene behind the head: a two-colour gradient with a few blurred shapes."""
    start, end = rng.uniform(30, 230, 3), rng.uniform(30, 230, 3)
    angle = rng.uniform(0, 2 * np.pi)
    xs, ys = _direction_grids(8, 8)  # a linear ramp survives bilinear up-sampling exactly
    ramp = np.clip(0.5 + xs * np.cos(angle) + ys * np.sin(angle), 0, 1)[..., None]
    small = (start * (1 - ramp) + end * ramp).astype(np.float32)
    image = cv2.resize(small, (size, size), interpolation=cv2.INTER_LINEAR).astype(np.uint8)
    for _ in range(int(rng.integers(0, 5))):
        color = tuple(int(c) for c in rng.integers(20, 235, 3))
        x, y = (int(v) for v in rng.integers(0, size, 2))
        w, h = (int(v) for v in rng.integers(size // 10, size // 2, 2))
        if rng.random() < 0.5:
            cv2.rectangle(image, (x, y), (x + w, y + h), color, -1, cv2.LINE_AA)
        else:
            cv2.circle(image, (x, y), w // 2, color, -1, cv2.LINE_AA)
    return cv2.GaussianBlur(image, (0, 0), size / 80)


def sample_nuisance(rng: np.random.Generator, level: float, canvas: int) -> Nuisance:
    """Independent nuisances for a still image; ``level`` in [0, 1] scales their strength."""
    return Nuisance(
        roll=float(rng.normal(0, 4 + 10 * level)),
        scale=float(rng.uniform(1 - 0.15 * level - 0.03, 1 + 0.1 * level + 0.03)),
        shift=(float(rng.normal(0, 1 + 4 * level)), float(rng.normal(0, 1 + 4 * level))),
        gain=float(np.exp(rng.normal(0, 0.08 + 0.25 * level))),
        gradient=float(rng.uniform(0, 0.1 + 0.5 * level)),
        gradient_angle=float(rng.uniform(0, 2 * np.pi)),
        blur=float(rng.uniform(0, 0.3 + 1.4 * level)),
        noise=float(rng.uniform(0, 2 + 8 * level)),
        jpeg_quality=int(rng.integers(int(90 - 55 * level), 96)),
        occluder=sample_occluder(rng, canvas) if rng.random() < 0.04 + 0.16 * level else None,
    )


def apply_photometric(
    image: np.ndarray, nuisance: Nuisance, rng: np.random.Generator
) -> np.ndarray:
    """Brightness, side light, blur and sensor noise on a uint8 RGB image."""
    out = image.astype(np.float32)
    if nuisance.blur > 0.2:
        out = cv2.GaussianBlur(out, (0, 0), nuisance.blur)
    xs, ys = _direction_grids(*image.shape[:2])
    direction = xs * np.float32(np.cos(nuisance.gradient_angle)) + ys * np.float32(
        np.sin(nuisance.gradient_angle)
    )
    out *= (np.float32(nuisance.gain) * (1 + np.float32(nuisance.gradient) * direction))[..., None]
    if nuisance.noise > 0:
        out += rng.standard_normal(out.shape, dtype=np.float32) * np.float32(nuisance.noise)
    return np.clip(out, 0, 255).astype(np.uint8)
