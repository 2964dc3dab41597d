"""How the lines of an EXPR annotation meet the frames of its video.

Line ``i + 1`` labels frame ``i``, with one known quirk of the ABAW files: some annotations are
one line longer than their video, and that last line labels no frame. ``drop_extra_line`` is
the one place that rule lives: the Aff-Wild2 readers (frame folders), ``semifer evaluate``
(predictions) and ``semifer predict --truth`` (a decoded video) all go through it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from semifer.abaw.annotation import read_expr_annotation
from semifer.errors import DataFormatError

logger = logging.getLogger(__name__)

# An annotation may outrun the last face image when the last frames show no face. Up to this
# many lines (~4 s at 30 fps) are kept as missing-face frames; more means the annotation and
# the frame folder do not belong together.
TAIL_TOLERANCE = 120


def drop_extra_line(labels: np.ndarray, frames: int, name: str) -> np.ndarray:
    """``labels`` of a video whose last frame is ``frames``, without the ABAW extra last line.

    Only an annotation exactly one line longer than the video loses its last line; any other
    length is returned as it is, for the caller to judge. ``name`` names the video in the log.
    """
    if len(labels) != frames + 1:
        return labels
    logger.debug("%s: annotation one line longer than the frames; last line dropped", name)
    return labels[:-1]


def _frame_numbers(folder: Path) -> np.ndarray:
    """Sorted frame numbers of the ``%05d.jpg`` images in ``folder`` (empty if it is missing)."""
    if not folder.is_dir():
        return np.empty(0, dtype=np.int64)
    numbers = [
        int(entry.name[:-4])
        for entry in os.scandir(folder)
        if entry.name.endswith(".jpg") and entry.name[:-4].isdigit()
    ]
    numbers_array = np.sort(np.array(numbers, dtype=np.int64))
    return numbers_array[numbers_array >= 1]


def video_frames(annotation: Path, frame_folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Labels of one video's annotation and the frame numbers that have an image, reconciled.

    A ``cropped_aligned`` folder holds only the frames with a face, so its last image stands
    for the video's last frame (``drop_extra_line``). A longer gap than ``TAIL_TOLERANCE`` is
    an error; images past the end of the annotation are ignored with a warning.
    """
    name = annotation.stem
    labels = read_expr_annotation(annotation)
    numbers = _frame_numbers(frame_folder)
    last = int(numbers[-1]) if numbers.size else 0
    labels = drop_extra_line(labels, last, name)
    if len(labels) > last + TAIL_TOLERANCE:
        raise DataFormatError(
            f"{annotation}: video {name} has {len(labels)} annotated frames but its last face "
            f"image is frame {last} in {frame_folder} (tolerance {TAIL_TOLERANCE})"
        )
    beyond = numbers > len(labels)
    if beyond.any():
        logger.warning(
            "%s: %d frame images beyond the %d annotated frames are ignored",
            name, int(beyond.sum()), len(labels),
        )
        numbers = numbers[~beyond]
    return labels, numbers


def annotation_files(folder: Path) -> dict[str, Path]:
    """The EXPR annotation files of ``folder`` by video name."""
    files = sorted(Path(folder).glob("*.txt"))
    if not files:
        raise DataFormatError(f"{folder}: no annotation (.txt) files")
    return {path.stem: path for path in files}


def annotation_targets(
    folder: Path, predictions: dict[str, np.ndarray], images: Path | None = None, source: str = "predictions"
) -> dict[str, np.ndarray]:
    """Labels of every annotation file in ``folder``, aligned to the predicted frame counts.

    Every annotated frame needs its prediction, with one exception: the ABAW extra last line
    (``drop_extra_line``) may go without one. Only the frame folder tells that line from a
    missing prediction: ``images`` is the ``cropped_aligned`` folder (default:
    ``<folder>/../../cropped_aligned``, the Aff-Wild2 layout). Errors name ``source``, the video
    and the first frame without a prediction.
    """
    folder = Path(folder)
    images = Path(images) if images is not None else folder.parent.parent / "cropped_aligned"
    targets: dict[str, np.ndarray] = {}
    for name, path in annotation_files(folder).items():
        labels = read_expr_annotation(path)
        if labels.size == 0:
            raise DataFormatError(f"{path}: empty video, the annotation lists no frame")
        predicted = predictions.get(name)
        # One prediction short is the only case the extra line can explain; the images decide.
        if predicted is not None and predicted.size == labels.size - 1:
            if not (images / name).is_dir():
                raise DataFormatError(
                    f"{source}: video {name} has no prediction for the last annotated frame {labels.size:05d}.jpg, "
                    f"and without its frame folder {images / name} (--images) it cannot be told whether that is "
                    "the ABAW annotation's extra line"
                )
            labels, _ = video_frames(path, images / name)
        if predicted is not None and predicted.size < labels.size:
            raise DataFormatError(
                f"{source}: video {name} has no prediction for frame {predicted.size + 1:05d}.jpg "
                f"({path} annotates {labels.size} frames)"
            )
        if predicted is not None and predicted.size > labels.size:
            raise DataFormatError(f"{source}: video {name} has {predicted.size} predicted frames but {path} annotates {labels.size}")
        targets[name] = labels
    return targets
