"""The moving parts of a face: brows, eyes, nose and mouth, each driven by its own AUs.

Everything is drawn with OpenCV's anti-aliased primitives at sub-pixel precision on a
224-pixel canvas that ``faces.render`` later shrinks to 112, so small AU movements (a
couple of pixels at 112) still change the image smoothly instead of in pixel steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from semifer.synth.aus import AU_INDEX
from semifer.synth.identity import Color, Identity

SHIFT = 4  # fixed-point bits for OpenCV coordinates: 1/16-pixel precision
_AA = cv2.LINE_AA


def points(xy: np.ndarray) -> np.ndarray:
    """Float ``(n, 2)`` coordinates to OpenCV's fixed-point int32 polygon."""
    return np.rint(np.asarray(xy) * (1 << SHIFT)).astype(np.int32).reshape(-1, 1, 2)


def shade(color: Color, factor: float) -> Color:
    """``color`` darkened (factor < 1) or lightened (> 1), clipped to 0..255."""
    return tuple(int(min(255, max(0, round(c * factor)))) for c in color)  # type: ignore[return-value]


def fill(canvas: np.ndarray, xy: np.ndarray, color: Color) -> None:
    cv2.fillPoly(canvas, [points(xy)], color, _AA, SHIFT)


def line(canvas: np.ndarray, xy: np.ndarray, color: Color, thickness: float) -> None:
    cv2.polylines(canvas, [points(xy)], False, color, max(1, round(thickness)), _AA, SHIFT)


def bezier(start: np.ndarray, control: np.ndarray, end: np.ndarray, steps: int = 16) -> np.ndarray:
    """Quadratic Bezier curve; with ``control`` midway in x, x is linear in the parameter."""
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return (1 - t) ** 2 * start + 2 * t * (1 - t) * control + t**2 * end


@dataclass(frozen=True)
class Layout:
    """Where the features sit on the canvas for one identity (face centre and half-axes)."""

    cx: float
    cy: float
    half_width: float
    half_height: float


def _au(aus: np.ndarray, name: str) -> float:
    return float(aus[AU_INDEX[name]])


def draw_brows(canvas: np.ndarray, who: Identity, at: Layout, aus: np.ndarray) -> None:
    """AU1 raises the inner ends, AU2 the outer ends, AU4 lowers and knits them (AU9 a little)."""
    au1, au2, au4, au9 = (_au(aus, n) for n in ("AU1", "AU2", "AU4", "AU9"))
    a = at.half_width
    w = 0.2 * a * who.eye_size
    eye_y = at.cy - 0.12 * at.half_height
    base_y = eye_y - (0.9 + 0.9 * who.brow_gap) * w
    color = shade(who.hair, 0.8)
    for sign in (-1.0, 1.0):
        ex = at.cx + sign * who.eye_spacing * a
        inner = np.array(
            [
                ex - sign * (0.95 - 0.45 * au4) * w,
                base_y - 0.9 * w * au1 + 0.6 * w * au4 + 0.25 * w * au9,
            ]
        )
        outer = np.array([ex + sign * 1.2 * w, base_y + 0.25 * w - 0.7 * w * au2 + 0.2 * w * au4])
        middle = (inner + outer) / 2 + np.array(
            [0.0, -(0.25 + 0.35 * who.brow_arch) * w + 0.45 * w * au4 - 0.3 * w * au2]
        )
        curve = bezier(inner, middle, outer, 12)
        line(canvas, curve[:8], color, 0.38 * w * who.brow_thickness + 1)
        line(canvas, curve[6:], color, 0.26 * w * who.brow_thickness + 1)
    skin = who.skin
    if au4 > 0.05:  # vertical furrows between the brows
        for dx in (-0.22, 0.22):
            x = at.cx + dx * w
            line(
                canvas,
                np.array([[x, base_y - 0.1 * w], [x - np.sign(dx) * 0.1 * w, base_y + 0.8 * w]]),
                shade(skin, 1 - 0.5 * au4),
                2,
            )
    for au, xs in ((au1, (-0.5, 0.5)), (au2, (-1.6, -0.7, 0.7, 1.6))):
        if au > 0.05:  # horizontal forehead lines: centre for AU1, sides for AU2
            for row in range(2):
                y = base_y - (1.2 + 0.55 * row) * w
                pts = np.array([[at.cx + x * w, y] for x in xs]).reshape(-1, 2, 2)
                for seg in pts:
                    line(canvas, seg, shade(skin, 1 - 0.3 * au), 2)


def draw_eyes(canvas: np.ndarray, who: Identity, at: Layout, aus: np.ndarray) -> None:
    """AU5 lifts the upper lid, AU7 tightens the lids, AU6 pushes the lower lid and cheek up."""
    au5, au6, au7 = (_au(aus, n) for n in ("AU5", "AU6", "AU7"))
    a = at.half_width
    w = 0.2 * a * who.eye_size
    ey = at.cy - 0.12 * at.half_height
    upper = 0.5 * w * max(0.15, 1 + 0.8 * au5 - 0.45 * au7 - 0.3 * au6)
    lower = 0.36 * w * max(0.1, 1 - 0.65 * au7 - 0.6 * au6 + 0.15 * au5)
    radius = 0.5 * w
    xs = np.linspace(-w, w, 17)
    bulge = 1 - (xs / w) ** 2
    for sign in (-1.0, 1.0):
        ex = at.cx + sign * who.eye_spacing * a
        top = np.stack([ex + xs, ey - upper * bulge**0.7], axis=1)
        bottom = np.stack([ex + xs, ey + lower * bulge], axis=1)
        fill(canvas, np.concatenate([top, bottom[::-1]]), (242, 238, 232))
        cv2.circle(
            canvas,
            (round(ex * 16), round((ey + 0.05 * w) * 16)),
            round(radius * 16),
            who.iris,
            -1,
            _AA,
            SHIFT,
        )
        cv2.circle(
            canvas,
            (round(ex * 16), round((ey + 0.05 * w) * 16)),
            round(radius * 0.45 * 16),
            (16, 12, 12),
            -1,
            _AA,
            SHIFT,
        )
        cv2.circle(
            canvas,
            (round((ex + 0.2 * radius) * 16), round((ey - 0.25 * radius) * 16)),
            round(radius * 0.18 * 16),
            (250, 250, 250),
            -1,
            _AA,
            SHIFT,
        )
        box_top, box_bottom = ey - radius - 0.7 * w, ey + radius + 0.4 * w
        lid = np.concatenate(
            [
                top,
                [[ex + w + 2, ey], [ex + w + 2, box_top], [ex - w - 2, box_top], [ex - w - 2, ey]],
            ]
        )
        fill(canvas, lid, who.skin)
        cheek = np.concatenate(
            [
                bottom,
                [
                    [ex + w + 2, ey],
                    [ex + w + 2, box_bottom],
                    [ex - w - 2, box_bottom],
                    [ex - w - 2, ey],
                ],
            ]
        )
        fill(canvas, cheek, who.skin)
        line(canvas, top, (40, 30, 28), 0.16 * w + 1)
        line(canvas, bottom[2:-2], shade(who.skin, 0.7), 1.5)
        crease = top[3:-3] - np.array([0.0, 0.3 * w * (1 - 0.6 * au5)])
        line(canvas, crease, shade(who.skin, 0.82), 1.5)
        if au6 > 0.05:  # raised cheek: arc under the eye and crow's feet at the outer corner
            arc = bottom[3:-3] + np.array([0.0, 0.45 * w])
            line(canvas, arc, shade(who.skin, 1 - 0.35 * au6), 2)
            corner = np.array([ex + sign * 1.1 * w, ey])
            for angle in (-0.4, 0.0, 0.4):
                tip = corner + 0.5 * w * np.array([sign * np.cos(angle), np.sin(angle)])
                line(canvas, np.stack([corner, tip]), shade(who.skin, 1 - 0.35 * au6), 1.5)


def draw_nose(canvas: np.ndarray, who: Identity, at: Layout, aus: np.ndarray) -> None:
    """AU9 wrinkles the bridge, lifts and flares the nostrils and deepens the folds."""
    au9, au12, au6 = (_au(aus, n) for n in ("AU9", "AU12", "AU6"))
    a, b = at.half_width, at.half_height
    tip_y = at.cy + (0.2 * who.nose_length - 0.03 * au9) * b
    half = (0.17 * who.nose_width + 0.04 * au9) * a
    dark = shade(who.skin, 0.62)
    line(
        canvas,
        np.array([[at.cx - 0.08 * a, at.cy - 0.05 * b], [at.cx - 0.1 * a, tip_y - 0.06 * b]]),
        shade(who.skin, 0.85),
        2,
    )
    wing = bezier(
        np.array([at.cx - half, tip_y - 0.05 * b]),
        np.array([at.cx - half * 1.25, tip_y + 0.04 * b]),
        np.array([at.cx - 0.3 * half, tip_y + 0.04 * b]),
        10,
    )
    mirrored = wing.copy()
    mirrored[:, 0] = 2 * at.cx - wing[:, 0]
    for sign, side in ((-1.0, wing), (1.0, mirrored)):
        line(canvas, side, dark, 2)
        cv2.ellipse(
            canvas,
            (round((at.cx + sign * 0.5 * half) * 16), round((tip_y + 0.02 * b) * 16)),
            (round(0.28 * half * 16), round(0.12 * half * 16)),
            0,
            0,
            360,
            shade(who.skin, 0.45),
            -1,
            _AA,
            SHIFT,
        )
    if au9 > 0.05:
        for row in range(3):
            y = at.cy - 0.02 * b + row * 0.045 * b
            line(
                canvas,
                np.array([[at.cx - 0.12 * a, y], [at.cx, y - 0.015 * b], [at.cx + 0.12 * a, y]]),
                shade(who.skin, 1 - 0.4 * au9),
                2,
            )
    fold = max(au12, au9, 0.6 * au6)
    if fold > 0.05:  # nasolabial folds from the nostril wings towards the mouth corners
        for sign in (-1.0, 1.0):
            start = np.array([at.cx + sign * 1.2 * half, tip_y - 0.02 * b])
            end = np.array([at.cx + sign * (0.4 + 0.08 * au12) * a, at.cy + 0.5 * b])
            control = np.array([at.cx + sign * 0.45 * a, at.cy + 0.28 * b])
            line(canvas, bezier(start, control, end, 12), shade(who.skin, 1 - 0.3 * fold), 2)


def mouth_opening(aus: np.ndarray, who: Identity, at: Layout) -> float:
    """Gap between the lips in canvas pixels: AU26 drops the jaw, a broad smile parts the lips."""
    return at.half_width * (0.34 * _au(aus, "AU26") + 0.08 * max(0.0, _au(aus, "AU12") - 0.4))


def draw_mouth(canvas: np.ndarray, who: Identity, at: Layout, aus: np.ndarray) -> None:
    """AU12 pulls the corners up, AU15 down, AU20 stretches, AU23 tightens, AU26 opens."""
    au9, au12, au15, au20, au23 = (_au(aus, n) for n in ("AU9", "AU12", "AU15", "AU20", "AU23"))
    a, b = at.half_width, at.half_height
    my = at.cy + 0.47 * b
    half = 0.36 * a * who.mouth_width * (1 + 0.2 * au12 + 0.25 * au20 - 0.25 * au23 - 0.05 * au15)
    corner_dy = (-0.3 * au12 + 0.28 * au15 + 0.04 * au20) * half
    opening = mouth_opening(aus, who, at)
    thick = 0.11 * a * who.lip_thickness * (1 - 0.75 * au23)
    left, right = np.array([at.cx - half, my + corner_dy]), np.array([at.cx + half, my + corner_dy])
    middle = (left + right) / 2

    def curve(dy: float) -> np.ndarray:
        # A curve from corner to corner whose midpoint sits ``dy`` below the mouth centre line.
        return bezier(left, np.array([at.cx, 2 * (my + dy) - middle[1]]), right, 21)

    lift = 0.12 * a * au9
    upper_outer = curve(-thick - lift)
    upper_inner = curve(-0.5 * lift)
    lower_inner = curve(opening)
    lower_outer = curve(opening + 1.1 * thick)
    fill(canvas, np.concatenate([upper_outer, lower_outer[::-1]]), who.lip)
    if opening + lift * 0.5 > 1.5:
        fill(canvas, np.concatenate([upper_inner, lower_inner[::-1]]), (60, 20, 24))
        teeth = upper_inner.copy()
        teeth[:, 1] = np.minimum(upper_inner[:, 1] + 0.1 * a, lower_inner[:, 1])
        fill(canvas, np.concatenate([upper_inner, teeth[::-1]]), (236, 232, 220))
    line(canvas, upper_inner, shade(who.lip, 0.55), 2)
    if opening > 1.5:
        line(canvas, lower_inner, shade(who.lip, 0.7), 1.5)
    if who.moustache:
        fill(
            canvas,
            np.concatenate(
                [upper_outer[2:-2] - [0, 0.02 * b], upper_outer[-3:1:-1] - [0, 0.1 * b]]
            ),
            shade(who.hair, 0.9),
        )
