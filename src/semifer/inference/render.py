"""Pictures of a prediction: the annotated video and the per-frame timeline plot.

The annotated video re-decodes the input (cheaper than holding every frame in memory during
prediction) and draws each row's box, track id and label on its frame.
"""

from __future__ import annotations

import math
from fractions import Fraction
from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd

from semifer.checkpoint import atomic_path
from semifer.errors import InputError
from semifer.inference.outputs import main_rows
from semifer.inference.video_io import FrameSource
from semifer.labels import ABAW_CLASSES
from semifer.report import pyplot, save_figure
from semifer.smoothing import runs

# One colour per class (RGB), the same in the video and the plot.
CLASS_COLOURS = np.array(
    [(160, 160, 160), (220, 40, 40), (120, 160, 40), (150, 80, 200), (250, 200, 30), (40, 100, 220), (250, 120, 20), (40, 180, 180)],
    dtype=np.uint8,
)
DEFAULT_FPS = 25.0


def _annotate(image: np.ndarray, rows: pd.DataFrame) -> np.ndarray:
    canvas = np.ascontiguousarray(image)
    scale = max(0.4, max(canvas.shape[:2]) / 900)
    for row in rows.itertuples(index=False):
        label = int(row.label)
        colour = tuple(int(v) for v in CLASS_COLOURS[label]) if label >= 0 else (255, 255, 255)
        text = f"{row.label_name or 'no face'}" + ("" if row.track_id < 0 else f" #{row.track_id}")
        if math.isfinite(row.face_left):
            top_left = (int(row.face_left), int(row.face_top))
            cv2.rectangle(canvas, top_left, (int(row.face_right), int(row.face_bottom)), colour, max(1, round(2 * scale)))
            anchor = (top_left[0], max(int(18 * scale), top_left[1] - 6))
        else:
            text += " (no face: from neighbours)" if row.interpolated else " (no face)"
            anchor = (8, int(24 * scale))
        cv2.putText(canvas, text, anchor, cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, (0, 0, 0), max(2, round(4 * scale)), cv2.LINE_AA)
        cv2.putText(canvas, text, anchor, cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, colour, max(1, round(1.5 * scale)), cv2.LINE_AA)
    return canvas


def _frames_with_rows(source: FrameSource, table: pd.DataFrame, size: tuple[int, int]) -> Iterator[np.ndarray]:
    by_frame = dict(iter(table.groupby("frame", sort=False)))
    for frame in source:
        image = frame.image if frame.image is not None else np.zeros((size[1], size[0], 3), np.uint8)
        if image.shape[1::-1] != size:
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        rows = by_frame.get(frame.index)
        yield _annotate(image, rows) if rows is not None else image


def write_annotated_video(source: FrameSource, table: pd.DataFrame, path: Path) -> Path:
    """Write ``source`` with every row of ``table`` drawn on its frame (H.264 MP4), atomically."""
    first = next((f.image for f in source if f.image is not None), None)
    if first is None:
        raise InputError(f"{source.name}: no readable frame to draw on")
    height, width = first.shape[:2]
    size = (width - width % 2, height - height % 2)  # yuv420p needs even sides
    fps = source.fps if source.fps and math.isfinite(source.fps) else DEFAULT_FPS
    with atomic_path(path) as temporary, av.open(str(temporary), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for image in _frames_with_rows(source, table, size):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


def plot_timeline(table: pd.DataFrame, path: Path, title: str) -> Path:
    """Probabilities over time (top) and raw vs smoothed labels with no-face spans (bottom), as PNG."""
    plt = pyplot()
    rows = main_rows(table)
    frames = rows["frame"].to_numpy()
    probabilities = rows[list(ABAW_CLASSES)].to_numpy(dtype=float).T  # (classes, frames)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(12, 6), sharex=True, height_ratios=[1, 1])
    top.imshow(probabilities, aspect="auto", interpolation="nearest", cmap="viridis", vmin=0, vmax=1,
               extent=(frames[0] - 0.5, frames[-1] + 0.5, len(ABAW_CLASSES) - 0.5, -0.5))  # fmt: skip
    top.set_yticks(range(len(ABAW_CLASSES)), ABAW_CLASSES)
    top.set_title(f"{title}: class probabilities per frame")
    missing = (rows["no_face"] | rows["unreadable"]).to_numpy()
    for start, stop in runs(missing):
        bottom.axvspan(frames[start] - 0.5, frames[stop - 1] + 0.5, color="0.85", lw=0)
    bottom.scatter(frames, rows["raw_label"], s=6, color="tab:blue", label="raw (argmax)")
    bottom.step(frames, rows["label"], where="mid", color="tab:red", lw=1.5, label="smoothed")
    bottom.set_yticks(range(len(ABAW_CLASSES)), ABAW_CLASSES)
    bottom.set_ylim(-0.5, len(ABAW_CLASSES) - 0.5)
    bottom.invert_yaxis()
    bottom.set_xlabel("frame")
    handles, labels = bottom.get_legend_handles_labels()
    if missing.any():
        handles.append(plt.Rectangle((0, 0), 1, 1, color="0.85"))
        labels.append("no face / unreadable")
    bottom.legend(handles, labels, loc="upper right", fontsize=8)
    figure.tight_layout()
    return save_figure(figure, path, dpi=110)

