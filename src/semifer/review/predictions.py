"""A ``semifer predict`` table as a reviewed video: checked on reading, labels from an EXPR file.

The table is checked before anything is drawn: every column of
``semifer.inference.labeling.COLUMNS`` present, rows in frame order, frames numbered
0..n-1. Each failure is one error line naming the file (and the line of a CSV). A table of
several faces per frame (``--all-faces``) is reviewed through its main face, the largest
one of each frame, as ``predict`` scores it.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from semifer.abaw.alignment import drop_extra_line
from semifer.abaw.annotation import read_expr_annotation
from semifer.errors import DataFormatError, InputError
from semifer.inference.labeling import BOX_COLUMNS, COLUMNS, FLAG_COLUMNS
from semifer.inference.outputs import main_rows, read_table
from semifer.labels import ABAW_CLASSES, NUM_CLASSES, UNLABELED
from semifer.review.frames import extract_frames, frame_images
from semifer.review.video import ReviewVideo

logger = logging.getLogger(__name__)

LABEL_COLUMNS = ("frame", "label", "raw_label", "track_id")


def _where(path: Path, row: int) -> str:
    """``file:line`` of table row ``row`` (0-based) in a CSV (line 1 is the header), ``file: row n`` otherwise."""
    return f"{path}:{row + 2}" if path.suffix != ".parquet" else f"{path}: row {row + 1}"


def read_predictions(path: Path) -> pd.DataFrame:
    """The table of ``path``, checked; its rows in file order."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such predictions file")
    try:
        table = read_table(path)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataFormatError(f"{path}: not a readable predictions table ({reason})") from None
    missing = [column for column in COLUMNS if column not in table.columns]
    if missing:
        raise DataFormatError(f"{path}: missing column(s) {', '.join(missing)}; not a `semifer predict` table")
    for column in LABEL_COLUMNS:
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values) | (values != np.round(values))
        if column in ("label", "raw_label"):
            bad |= (values < UNLABELED) | (values >= NUM_CLASSES)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataFormatError(f"{_where(path, row)}: {column} {table[column].iloc[row]} is not a valid value")
        table[column] = values.astype(np.int64)
    frames = table["frame"].to_numpy()
    backwards = np.flatnonzero(np.diff(frames) < 0)
    if backwards.size:
        row = int(backwards[0]) + 1
        raise DataFormatError(f"{_where(path, row)}: frame {frames[row]} comes after frame {frames[row - 1]}; rows must be in frame order")
    numbers = np.unique(frames)
    if not numbers.size:
        raise DataFormatError(f"{path}: no rows")
    if numbers[0] < 0:
        row = int(np.flatnonzero(frames < 0)[0])
        raise DataFormatError(f"{_where(path, row)}: frame {frames[row]} is negative")
    if numbers[-1] != numbers.size - 1:  # sorted, unique, from 0: the first i without a row is a gap
        gap = int(np.flatnonzero(numbers != np.arange(numbers.size))[0])
        raise DataFormatError(f"{path}: frame {gap} has no row; frames must be numbered 0..{numbers[-1]} without gaps")
    for column in FLAG_COLUMNS:
        if table[column].dtype != bool:
            raise DataFormatError(f"{path}: column {column} holds values other than True and False")
    return table


def read_labels(labels: Path, frames: int, source: Path) -> np.ndarray:
    """The EXPR annotation ``labels`` aligned to ``frames`` predicted frames (ABAW's one extra line dropped)."""
    truth = drop_extra_line(read_expr_annotation(Path(labels)), frames, str(labels))
    if truth.size != frames:
        raise DataFormatError(f"{labels} annotates {truth.size} frames but {source} has {frames}: not the same video?")
    return truth


def _source_video(predictions: Path, rows: pd.DataFrame) -> Path | None:
    """The video named in the ``file`` column (``<video>#<frame>``), as given or beside the table."""
    named = str(rows["file"].iloc[0]).rsplit("#", 1)[0]
    for candidate in (Path(named), predictions.parent / named, predictions.parent / Path(named).name):
        if candidate.is_file():
            return candidate
    return None


def predicted_video(predictions: Path, frames_folder: Path, labels: Path | None = None, video: Path | None = None) -> ReviewVideo:
    """Review one predictions table; its frames are extracted into ``frames_folder``.

    Frames come from the annotated video ``predict`` wrote beside the table
    (``<name>.annotated.mp4``: boxes drawn), else from ``video`` or the source video named
    in the table, with the face box drawn by the page.
    """
    predictions = Path(predictions)
    rows = main_rows(read_predictions(predictions))
    truth = read_labels(labels, len(rows), predictions) if labels is not None else None
    annotated = predictions.with_name(f"{predictions.stem}.annotated.mp4")
    source = annotated if annotated.is_file() else (Path(video) if video is not None else _source_video(predictions, rows))
    size = None
    if source is None:
        logger.warning("%s: neither %s nor the source video it names was found; frames are not shown (--video)", predictions, annotated.name)
    else:
        logger.info("extracting the %d frames of %s", len(rows), source)
        size = extract_frames(source, frames_folder, len(rows))
    boxes = None
    if size is not None and source != annotated:
        boxes = rows[BOX_COLUMNS].to_numpy(dtype=np.float64) / np.array([*size, *size], dtype=np.float64)
    probabilities = np.nan_to_num(rows[list(ABAW_CLASSES)].to_numpy(dtype=np.float64), nan=0.0)
    timestamps = rows["timestamp"].to_numpy(dtype=np.float64)
    steps = np.diff(timestamps[np.isfinite(timestamps)])
    fps = 1.0 / float(np.median(steps)) if steps.size and np.median(steps) > 0 else math.nan
    return ReviewVideo(
        name=predictions.stem,
        source="predict",
        raw=rows["raw_label"].to_numpy(dtype=np.int64),
        smoothed=rows["label"].to_numpy(dtype=np.int64),
        probabilities=probabilities,
        no_face=(rows["no_face"] | rows["unreadable"]).to_numpy(dtype=bool),
        images=frame_images(frames_folder),
        smoothing="predict's labels",
        truth=truth,
        boxes=boxes,
        fps=fps,
    )
