"""Score a ``predict`` table against a per-frame EXPR annotation of the same video.

The annotation is the ABAW format (header, then one label per frame, -1 = not annotated):
what Aff-Wild2 ships per video and what ``semifer synth`` writes beside its raw video. The
score is the ABAW one: macro F1 over every annotated frame, frames without a face included
(``predict`` labels them from their neighbours).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from semifer.data.affwild2 import read_expr_annotation
from semifer.errors import DataFormatError
from semifer.inference.outputs import main_rows
from semifer.labels import UNLABELED
from semifer.metrics import F1Report


def score_predictions(table: pd.DataFrame, annotation_path: Path, source: str = "predictions") -> F1Report:
    """ABAW macro F1 of ``table``'s ``label`` column (one row per frame, or per face) against the annotation.

    The frame counts must agree. As in Aff-Wild2, the annotation may be one line longer than
    the video (its last line is then ignored). ``source`` names the table in error messages.

    Raises:
        DataFormatError: the annotation is unreadable, the frame counts differ, or no frame is annotated.
    """
    annotation_path = Path(annotation_path)
    targets = read_expr_annotation(annotation_path)
    rows = main_rows(table)
    frames = len(rows)
    if not np.array_equal(rows["frame"].to_numpy(), np.arange(frames)):
        raise DataFormatError(f"{source}: frames are not numbered 0..{frames - 1}; not the table of one video")
    if len(targets) == frames + 1:
        targets = targets[:-1]
    if len(targets) != frames:
        raise DataFormatError(
            f"{annotation_path} has {len(targets)} annotated frames but {source} has {frames}: not the same video?"
        )
    if not (targets != UNLABELED).any():
        raise DataFormatError(f"{annotation_path}: no annotated frame (all labels are -1)")
    return F1Report.from_labels(targets, rows["label"].to_numpy(dtype=np.int64))
