"""Score a ``predict`` table against a per-frame EXPR annotation of the same video.

The annotation is the ABAW EXPR file (``semifer.abaw.annotation``): what Aff-Wild2 ships per
video and what ``semifer synth`` writes beside its raw video. The score is the ABAW one: macro
F1 over every annotated frame, frames without a face included (``predict`` labels them from
their neighbours).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from semifer.abaw.alignment import drop_extra_line
from semifer.abaw.annotation import read_expr_annotation
from semifer.errors import DataFormatError
from semifer.inference.outputs import main_rows
from semifer.labels import UNLABELED
from semifer.metrics import F1Report


def score_predictions(table: pd.DataFrame, annotation_path: Path, source: str = "predictions") -> F1Report:
    """ABAW macro F1 of ``table``'s ``label`` column (one row per frame, or per face) against the annotation.

    The frame counts must agree, save for the ABAW annotation's extra last line
    (``drop_extra_line``). ``source`` names the table in error messages.

    Raises:
        DataFormatError: the annotation is unreadable, the frame counts differ, or no frame is annotated.
    """
    annotation_path = Path(annotation_path)
    targets = read_expr_annotation(annotation_path)
    rows = main_rows(table)
    frames = len(rows)
    if not np.array_equal(rows["frame"].to_numpy(), np.arange(frames)):
        raise DataFormatError(f"{source}: frames are not numbered 0..{frames - 1}; not the table of one video")
    targets = drop_extra_line(targets, frames, str(annotation_path))
    if len(targets) != frames:
        raise DataFormatError(
            f"{annotation_path} has {len(targets)} annotated frames but {source} has {frames}: not the same video?"
        )
    if not (targets != UNLABELED).any():
        raise DataFormatError(f"{annotation_path}: no annotated frame (all labels are -1)")
    return F1Report.from_labels(targets, rows["label"].to_numpy(dtype=np.int64))
