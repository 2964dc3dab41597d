"""Draw one synthetic face: head, hair and accessories around the AU-driven features.

``render`` is the single entry point: identity + 12 AU intensities + nuisances -> a 112x112
RGB image. Drawing happens on a 224-pixel canvas and is shrunk with area averaging, which is
the anti-aliasing on top of OpenCV's ``LINE_AA`` edges.
"""

from __future__ import annotations

import cv2
import numpy as np

from semifer.synth.features import (
    Layout,
    draw_brows,
    draw_eyes,
    draw_mouth,
    draw_nose,
    fill,
    line,
    mouth_opening,
    shade,
)
from semifer.synth.identity import Identity
from semifer.synth.nuisance import Nuisance, apply_photometric, draw_occluder

CANVAS = 224
IMAGE_SIZE = 112
FACE_CENTRE = (CANVAS / 2, CANVAS / 2 + 4)
_NECK_BASE = CANVAS - FACE_CENTRE[1]  # from the face centre down to where the clothes begin


def _outline(who: Identity, at: Layout, drop: float) -> np.ndarray:
    """Face contour; the lower half narrows with ``jaw`` and the chin follows the jaw drop."""
    t = np.linspace(0.0, 2 * np.pi, 72, endpoint=False)
    lower = np.clip(np.sin(t), 0.0, None)
    x = at.half_width * np.cos(t) * (1 - 0.28 * who.jaw * lower**2)
    y = at.half_height * np.sin(t) + drop * lower**3
    return np.stack([at.cx + x, at.cy + y], axis=1)


def _hair_cap(who: Identity, at: Layout) -> np.ndarray:
    """Hair on top of the head: an arc over the skull closed by the hairline."""
    a, b = at.half_width, at.half_height
    t = np.linspace(np.pi * 1.02, np.pi * 1.98, 30)
    top = np.stack([at.cx + 1.08 * a * np.cos(t), at.cy - 0.06 * b + 1.06 * b * np.sin(t)], axis=1)
    depth = min(who.hairline, 0.48) if who.hair_style == "fringe" else who.hairline
    temple_y = at.cy - 0.18 * b
    mid_y = at.cy - depth * b
    xs = np.linspace(1.05, -1.05, 25)
    hairline_y = temple_y + (mid_y - temple_y) * np.sqrt(np.clip(1 - xs**2, 0.0, None))
    if who.hair_style == "fringe":
        hairline_y = hairline_y + 0.04 * b * (np.arange(25) % 2)
    hairline = np.stack([at.cx + xs * a, hairline_y], axis=1)
    return np.concatenate([top, hairline])


def _draw_head(canvas: np.ndarray, who: Identity, at: Layout, drop: float) -> None:
    a, b = at.half_width, at.half_height
    neck_base = at.cy + _NECK_BASE
    cv2.ellipse(
        canvas,
        (round(at.cx), round(neck_base) + 24),
        (round(2.0 * a), round(0.75 * b)),
        0,
        0,
        360,
        who.clothing,
        -1,
        cv2.LINE_AA,
    )
    fill(
        canvas,
        np.array(
            [
                [at.cx - 0.42 * a, at.cy + 0.4 * b],
                [at.cx + 0.42 * a, at.cy + 0.4 * b],
                [at.cx + 0.46 * a, neck_base],
                [at.cx - 0.46 * a, neck_base],
            ]
        ),
        shade(who.skin, 0.82),
    )
    if who.hair_style == "long":
        t = np.linspace(np.pi, 2 * np.pi, 30)
        back = np.stack([at.cx + 1.16 * a * np.cos(t), at.cy + 1.1 * b * np.sin(t)], axis=1)
        fill(
            canvas,
            np.concatenate(
                [back, [[at.cx + 1.2 * a, at.cy + 1.0 * b], [at.cx - 1.2 * a, at.cy + 1.0 * b]]]
            ),
            shade(who.hair, 0.85),
        )
    for sign in (-1.0, 1.0):
        ear = (round((at.cx + sign * 0.97 * a) * 16), round((at.cy - 0.02 * b) * 16))
        cv2.ellipse(
            canvas,
            ear,
            (round(0.15 * a * 16), round(0.27 * a * 16)),
            0,
            0,
            360,
            shade(who.skin, 0.9),
            -1,
            cv2.LINE_AA,
            4,
        )
        if who.earrings:
            cv2.circle(
                canvas,
                (ear[0], ear[1] + round(0.3 * a * 16)),
                round(0.05 * a * 16),
                (212, 180, 60),
                -1,
                cv2.LINE_AA,
                4,
            )
    outline = _outline(who, at, drop)
    fill(canvas, outline, who.skin)
    if who.beard:
        chin = outline[(outline[:, 1] > at.cy + 0.4 * b)]
        fill(canvas, chin, shade(who.hair, 0.95))


def _draw_glasses(canvas: np.ndarray, who: Identity, at: Layout) -> None:
    a = at.half_width
    ey = at.cy - 0.12 * at.half_height
    radius = 0.3 * a * who.eye_size
    frame = (30, 30, 34)
    for sign in (-1.0, 1.0):
        ex = at.cx + sign * who.eye_spacing * a
        cv2.ellipse(
            canvas,
            (round(ex * 16), round(ey * 16)),
            (round(radius * 16), round(0.8 * radius * 16)),
            0,
            0,
            360,
            frame,
            3,
            cv2.LINE_AA,
            4,
        )
        line(
            canvas,
            np.array(
                [
                    [ex + sign * radius, ey - 0.2 * radius],
                    [at.cx + sign * 0.98 * a, ey - 0.25 * radius],
                ]
            ),
            frame,
            3,
        )
    inner = who.eye_spacing * a - radius
    line(
        canvas,
        np.array(
            [
                [at.cx - inner, ey - 0.2 * radius],
                [at.cx, ey - 0.35 * radius],
                [at.cx + inner, ey - 0.2 * radius],
            ]
        ),
        frame,
        3,
    )


def draw_face(
    canvas: np.ndarray,
    who: Identity,
    aus: np.ndarray,
    centre: tuple[float, float] = FACE_CENTRE,
) -> None:
    """Draw ``who`` with expression ``aus`` onto an RGB canvas, in place.

    On a ``CANVAS``-sized canvas the default ``centre`` frames head and neck as the 112-px
    crops show them; a larger canvas (a whole camera frame) takes the face anywhere.
    """
    at = Layout(centre[0], centre[1], who.face_width, who.face_width * who.face_height)
    _draw_head(canvas, who, at, 0.6 * mouth_opening(aus, who, at))
    draw_brows(canvas, who, at, aus)
    draw_eyes(canvas, who, at, aus)
    draw_nose(canvas, who, at, aus)
    draw_mouth(canvas, who, at, aus)
    if who.hair_style != "bald":  # after the brows, so a low hairline hides forehead lines
        fill(canvas, _hair_cap(who, at), who.hair)
    if who.glasses:
        _draw_glasses(canvas, who, at)


def render(
    who: Identity,
    aus: np.ndarray,
    background: np.ndarray,
    nuisance: Nuisance,
    rng: np.random.Generator,
) -> np.ndarray:
    """The 112x112 RGB face of ``who`` showing ``aus``, seen through ``nuisance``.

    ``background`` is a ``CANVAS``-sized RGB image (videos reuse one per video); ``rng``
    only feeds the sensor noise, so the same inputs give the same image.
    """
    canvas = background.copy()
    draw_face(canvas, who, aus)
    if nuisance.occluder is not None:
        draw_occluder(canvas, nuisance.occluder)
    matrix = cv2.getRotationMatrix2D(FACE_CENTRE, nuisance.roll, nuisance.scale)
    matrix[:, 2] += np.asarray(nuisance.shift) * (CANVAS / IMAGE_SIZE)
    canvas = cv2.warpAffine(
        canvas, matrix, (CANVAS, CANVAS), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    image = cv2.resize(canvas, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA)
    return apply_photometric(image, nuisance, rng)


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    """RGB uint8 image -> JPEG bytes at ``quality`` (the quality itself is a nuisance)."""
    ok, buffer = cv2.imencode(
        ".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    )
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    return buffer.tobytes()
