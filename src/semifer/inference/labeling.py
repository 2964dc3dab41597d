"""From per-face logits to the per-frame table: temporal model, gap filling, smoothing.

A video's faces form sequences: in main-face mode one sequence over the whole video; with
``--all-faces`` one per track, over the frames from its first to its last appearance. Each
sequence runs through the temporal encoder (frames without a face masked), frames without
a face get probabilities interpolated from their neighbours (``fill_missing``), and the
labels are smoothed with the paper's 30-frame window vote.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from semifer.inference.pipeline import NO_TRACK, Observations
from semifer.labels import ABAW_CLASSES
from semifer.smoothing import fill_missing, smooth

SequenceModel = Callable[[Tensor, Tensor], Tensor]  # features (T,D), mask (T,) -> logits (T,C)
BOX_COLUMNS = ["face_left", "face_top", "face_right", "face_bottom"]
FLAG_COLUMNS = ["no_face", "unreadable", "interpolated"]
COLUMNS = [
    "frame", "timestamp", "file", "track_id", *BOX_COLUMNS, "face_score",
    "label", "label_name", "raw_label", *ABAW_CLASSES, *FLAG_COLUMNS,
]  # fmt: skip


def _rows(
    seen: Observations, frames: np.ndarray, faces: np.ndarray, probabilities: np.ndarray, raw: np.ndarray, labels: np.ndarray
) -> pd.DataFrame:
    """Table rows for ``frames``; ``faces`` holds the observation index per row, -1 for no face."""
    has_face = faces >= 0
    boxes = np.full((len(frames), 4), np.nan)
    scores = np.full(len(frames), np.nan)
    tracks = np.full(len(frames), NO_TRACK, dtype=np.int64)
    if has_face.any():
        boxes[has_face] = np.asarray(seen.face_boxes)[faces[has_face]]
        scores[has_face] = np.asarray(seen.face_scores)[faces[has_face]]
        tracks[has_face] = np.asarray(seen.face_tracks)[faces[has_face]]
    readable = np.asarray(seen.frame_readable, dtype=bool)[frames]
    table = pd.DataFrame(
        {
            "frame": frames.astype(np.int64),
            "timestamp": np.asarray(seen.frame_timestamps, dtype=np.float64)[frames],
            "file": np.asarray(seen.frame_locations, dtype=object)[frames],
            "track_id": tracks,
            **{name: boxes[:, i] for i, name in enumerate(BOX_COLUMNS)},
            "face_score": scores,
            "label": labels.astype(np.int64),
            "label_name": [ABAW_CLASSES[k] if k >= 0 else "" for k in labels],
            "raw_label": raw.astype(np.int64),
            **{name: probabilities[:, c] for c, name in enumerate(ABAW_CLASSES)},
            "no_face": ~has_face & readable,
            "unreadable": ~readable,
            "interpolated": ~has_face & np.isfinite(probabilities).all(axis=1),
        }
    )
    return table[COLUMNS]


def _sequence_probabilities(
    seen: Observations, observed: np.ndarray, start: int, stop: int, model: SequenceModel | None
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities ``(stop - start, C)`` of one sequence and its has-face mask."""
    positions = np.asarray(seen.face_frames, dtype=np.int64)[observed] - start
    mask = np.zeros(stop - start, dtype=bool)
    mask[positions] = True
    logits_all = seen.logit_matrix()
    classes = len(ABAW_CLASSES) if logits_all.numel() == 0 else logits_all.shape[1]
    probabilities = np.zeros((stop - start, classes))
    if observed.size and model is not None:
        features = torch.zeros(stop - start, seen.features[0].shape[1])
        features[positions] = seen.feature_matrix()[observed]
        probabilities = torch.softmax(model(features, torch.from_numpy(mask)).float(), dim=-1).numpy()
    elif observed.size:
        probabilities[positions] = torch.softmax(logits_all[observed], dim=-1).numpy()
    return fill_missing(probabilities, mask), mask


def label_video(
    seen: Observations, all_faces: bool, model: SequenceModel | None, smoothing: str = "window", window: int = 30
) -> pd.DataFrame:
    """The per-frame table of one video: at least one row per frame, one per face with ``all_faces``.

    Frames where no face was seen are labeled from their neighbours and flagged; with
    ``all_faces`` they belong to the longest track, which spans the whole video.
    """
    frames_total = seen.num_frames
    face_frames = np.asarray(seen.face_frames, dtype=np.int64)
    tracks = np.asarray(seen.face_tracks, dtype=np.int64)
    if all_faces and tracks.size:
        ids, counts = np.unique(tracks, return_counts=True)
        order = [int(ids[np.argmax(counts)])] + [int(i) for i in ids if i != ids[np.argmax(counts)]]
        groups = [np.flatnonzero(tracks == tid) for tid in order]
    else:
        groups = [np.arange(tracks.size)]
    covered = np.zeros(frames_total, dtype=bool)
    covered[face_frames] = True
    parts = []
    for rank, observed in enumerate(groups):
        primary = rank == 0
        start, stop = (0, frames_total) if primary else (int(face_frames[observed].min()), int(face_frames[observed].max()) + 1)
        probabilities, mask = _sequence_probabilities(seen, observed, start, stop, model)
        raw = probabilities.argmax(axis=1)
        labels = smooth(raw, smoothing, window, probabilities.shape[1])
        faces = np.full(stop - start, -1, dtype=np.int64)
        faces[face_frames[observed] - start] = observed
        keep = mask | (~covered[start:stop] if primary else np.zeros_like(mask))
        frames = np.arange(start, stop)[keep]
        parts.append(_rows(seen, frames, faces[keep], probabilities[keep], raw[keep], labels[keep]))
    table = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return table.sort_values(["frame", "track_id"], kind="stable", ignore_index=True)


def label_images(seen: Observations) -> pd.DataFrame:
    """The table of independent images: one row per face, and a no-face row per image without one."""
    face_frames = np.asarray(seen.face_frames, dtype=np.int64)
    empty = np.setdiff1d(np.arange(seen.num_frames), face_frames)
    frames = np.concatenate([face_frames, empty])
    faces = np.concatenate([np.arange(face_frames.size), np.full(empty.size, -1)])
    logits = seen.logit_matrix()
    classes = len(ABAW_CLASSES) if logits.numel() == 0 else logits.shape[1]
    probabilities = np.full((frames.size, classes), np.nan)
    if face_frames.size:
        probabilities[: face_frames.size] = torch.softmax(logits, dim=-1).numpy()
    labels = np.where(faces >= 0, np.nan_to_num(probabilities, nan=-1.0).argmax(axis=1), -1)
    table = _rows(seen, frames, faces, probabilities, labels, labels)
    return table.sort_values(["frame", "track_id"], kind="stable", ignore_index=True)
