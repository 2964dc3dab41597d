"""What the overview page shows: F1 rows, confusion matrices and the frames behind each cell.

A cell's frames are stored as spans ``[video, first frame index, length]`` of consecutive
frames in the same cell: errors come in runs, so a validation set of ~2.7M frames lists as
a few hundred thousand spans, loaded only when a cell is clicked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from semifer.labels import ABAW_CLASSES, NUM_CLASSES, UNLABELED
from semifer.metrics import F1Report
from semifer.review.video import ReviewVideo

PREDICTIONS = ("raw", "smoothed")


@dataclass
class MatrixGroup:
    """Videos scored together (the validation split, or one predicted video) and the F1-table
    names of their raw and smoothed predictions (default: ``"<title>, raw"``...)."""

    title: str
    videos: list[int]  # indices into the review's video list
    names: dict[str, str] = field(default_factory=dict)  # "raw" / "smoothed" -> row name

    def row_name(self, which: str) -> str:
        return self.names.get(which, f"{self.title}, {which}")


def report_row(name: str, report: F1Report) -> dict[str, object]:
    return {"name": name, "macro_f1": report.macro_f1, "frames": report.frames, "per_class_f1": [float(v) for v in report.per_class]}


def ablation_rows(ablation: dict[str, object]) -> list[dict[str, object]]:
    """The rows of an ``ablation.json`` (``semifer ablation`` / the demo), in its order."""
    rows: dict[str, dict[str, object]] = ablation["rows"]  # type: ignore[assignment]
    order: list[str] = ablation.get("order") or list(rows)  # type: ignore[assignment]
    return [
        {
            "name": name,
            "macro_f1": float(rows[name]["macro_f1"]),  # type: ignore[arg-type]
            "frames": int(rows[name]["frames"]),  # type: ignore[call-overload]
            "per_class_f1": [float(rows[name]["per_class_f1"][label]) for label in ABAW_CLASSES],  # type: ignore[index]
        }
        for name in order
    ]


def _labels(video: ReviewVideo, which: str) -> np.ndarray:
    return video.raw if which == "raw" else video.smoothed


def group_report(videos: Sequence[ReviewVideo], which: str) -> F1Report:
    """Macro F1 over all annotated frames of ``videos`` together (the ABAW way), of their ``which`` labels."""
    scored = [video for video in videos if video.truth is not None]
    truth = np.concatenate([video.truth for video in scored])  # type: ignore[misc]
    predicted = np.concatenate([_labels(video, which) for video in scored])
    # A frame predict could not label (-1: an unreadable image) has no cell; it is left out, as in cell_spans.
    return F1Report.from_labels(np.where(predicted >= 0, truth, UNLABELED), np.maximum(predicted, 0))


def cell_spans(videos: Sequence[ReviewVideo], indices: Sequence[int], which: str) -> list[list[list[int]]]:
    """For each cell ``true * NUM_CLASSES + predicted``, the spans of frames that fall in it."""
    cells: list[list[list[int]]] = [[] for _ in range(NUM_CLASSES * NUM_CLASSES)]
    for index in indices:
        video = videos[index]
        if video.truth is None:
            continue
        predicted = _labels(video, which)
        cell = np.where((video.truth != UNLABELED) & (predicted >= 0), video.truth * NUM_CLASSES + predicted, -1)
        starts = np.flatnonzero(np.diff(cell, prepend=-2))  # a new span wherever the cell changes
        lengths = np.diff(starts, append=cell.size)
        for start, length in zip(starts.tolist(), lengths.tolist(), strict=True):
            if cell[start] >= 0:
                cells[int(cell[start])].append([index, start, length])
    return cells


def video_summary(video: ReviewVideo) -> dict[str, object]:
    """One line of the overview's video table: how much of the video is annotated, wrong, faceless."""
    summary: dict[str, object] = {"name": video.name, "source": video.source, "frames": video.frames, "no_face": int(video.no_face.sum())}
    if video.truth is not None:
        annotated = video.truth != UNLABELED
        summary["annotated"] = int(annotated.sum())
        summary["raw_errors"] = int((annotated & (video.raw != video.truth)).sum())
        summary["smoothed_errors"] = int((annotated & (video.smoothed != video.truth)).sum())
    return summary
