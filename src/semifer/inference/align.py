"""Cut a face out of a frame the way the training crops were cut.

The models are trained on Aff-Wild2's ``cropped_aligned`` frames: 112x112, the face upright
and centred, filling most of the crop. A detector box is tighter than that (the Haar box
runs from the brows to the mouth), so the crop is a square ``margin`` times the box side
around its centre; when the detector gives eye landmarks the square is also rotated so the
eyes are level. Parts of the square outside the frame are black, as in the training crops.
The margin belongs to the model: its frame encoder records it (``FrameModelSpec.margin``),
and ``measure_margin`` finds it for a set of training crops.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from semifer.inference.detect import Detection, FaceDetector
from semifer.models.backbone import DEFAULT_MARGIN

CROP_SIZE = 112


def crop_geometry(detection: Detection, margin: float = DEFAULT_MARGIN) -> tuple[float, float, float, float]:
    """Centre ``(x, y)``, side and eye-line angle (degrees) of the square to cut out."""
    left, top, right, bottom = detection.box
    centre_x, centre_y = (left + right) / 2, (top + bottom) / 2
    side = max(right - left, bottom - top) * margin
    angle = 0.0
    if detection.landmarks is not None:
        (x1, y1), (x2, y2) = detection.landmarks[0], detection.landmarks[1]
        angle = math.degrees(math.atan2(y2 - y1, x2 - x1))
    return centre_x, centre_y, side, angle


def align_face(
    image: np.ndarray, detection: Detection, size: int = CROP_SIZE, margin: float = DEFAULT_MARGIN
) -> np.ndarray:
    """The ``size`` x ``size`` RGB crop of ``detection`` in ``image``.

    The warp runs at a whole multiple of ``size`` and is then area-averaged down, so a large
    face is shrunk without the aliasing a direct bilinear warp would leave.
    """
    centre_x, centre_y, side, angle = crop_geometry(detection, margin)
    factor = max(1, int(side // size))
    work = size * factor
    matrix = cv2.getRotationMatrix2D((centre_x, centre_y), angle, work / max(side, 1.0))
    matrix[0, 2] += work / 2 - centre_x
    matrix[1, 2] += work / 2 - centre_y
    warped = cv2.warpAffine(image, matrix, (work, work), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    return warped if factor == 1 else cv2.resize(warped, (size, size), interpolation=cv2.INTER_AREA)


def measure_margin(detector: FaceDetector, crops: Sequence[np.ndarray], scale: int = 2) -> float:
    """The ``margin`` that reproduces the framing of ``crops`` (training face crops): the median
    of crop side over detector box side, each crop enlarged ``scale`` times and set in a grey
    frame so the detector sees a whole face with room around it, as in a video frame.

    Raises ``ValueError`` when the detector finds no face in any crop.
    """
    ratios = []
    for crop in crops:
        side = crop.shape[0] * scale
        frame = np.full((2 * side, 2 * side, 3), 128, np.uint8)
        frame[side // 2 : side // 2 + side, side // 2 : side // 2 + side] = cv2.resize(crop, (side, side))
        found = detector.detect(frame)
        if found:
            left, top, right, bottom = found[0].box
            ratios.append(side / max(right - left, bottom - top))
    if not ratios:
        raise ValueError("the detector found no face in any of the crops")
    return float(np.median(ratios))
