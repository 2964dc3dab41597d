"""How fast a review page opens for a long video, and how large the review folder is.

Builds the review of a synthetic 10,000-frame `predict` table with its video (a drawn face,
labels changing every 2 s, a faceless stretch), opens the video page and the overview in
headless Chromium from disk, and reads the Performance API: navigation start until the
video page's ``timeline-drawn`` mark, and until the overview's ``tables-drawn`` and
``charts-drawn`` marks. The build itself (frame extraction included) is timed too.

    .venv/bin/python benchmarks/bench_review.py --frames 10000 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd

from semifer.abaw.annotation import write_expr_annotation
from semifer.inference.labeling import COLUMNS
from semifer.inference.outputs import write_table
from semifer.labels import ABAW_CLASSES, NUM_CLASSES
from semifer.review import review_predictions
from semifer.smoothing import smooth

CHROMIUM = "/usr/bin/chromium"
FPS = 25
SIZE = (240, 320)  # height, width


def write_inputs(folder: Path, frames: int, seed: int = 0) -> tuple[Path, Path]:
    """A video of ``frames`` frames and its predictions table (raw labels noisy, as a model's are)."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(rng.integers(0, NUM_CLASSES, frames // (2 * FPS) + 1), 2 * FPS)[:frames]
    raw = np.where(rng.random(frames) < 0.3, rng.integers(0, NUM_CLASSES, frames), truth)
    no_face = (np.arange(frames) % 1000) > 950
    logits = rng.normal(size=(frames, NUM_CLASSES))
    logits[np.arange(frames), raw] += 3
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    video = folder / "long.mp4"
    with av.open(str(video), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.height, stream.width = SIZE
        stream.pix_fmt = "yuv420p"
        for index in range(frames):
            image = np.full((*SIZE, 3), 90, np.uint8)
            if not no_face[index]:
                cv2.circle(image, (100 + index % 100, 120), 50, (225, 180, 150), -1)
            cv2.putText(image, str(index), (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    left = np.where(no_face, np.nan, 50.0 + np.arange(frames) % 100)
    labels = smooth(raw, "window", 30)
    table = pd.DataFrame(
        {
            "frame": np.arange(frames), "timestamp": np.arange(frames) / FPS, "file": [f"{video}#{i}" for i in range(frames)],
            "track_id": np.where(no_face, -1, 0), "face_left": left, "face_top": np.where(no_face, np.nan, 70.0),
            "face_right": left + 100, "face_bottom": np.where(no_face, np.nan, 170.0), "face_score": 10.0,
            "label": labels, "label_name": [ABAW_CLASSES[k] for k in labels], "raw_label": raw,
            **{name: probabilities[:, c] for c, name in enumerate(ABAW_CLASSES)},
            "no_face": no_face, "unreadable": False, "interpolated": no_face,
        }
    )  # fmt: skip
    annotation = folder / "long.txt"
    write_expr_annotation(annotation, truth)
    return write_table(table[COLUMNS], folder / "long.csv"), annotation


def open_times(page_path: Path, marks: list[str], repeats: int) -> dict[str, list[float]]:
    """Milliseconds from navigation start to each of the page's ``marks``, once per fresh page."""
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {mark: [] for mark in marks}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        for _ in range(repeats):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(page_path.as_uri())
            page.wait_for_selector("body[data-ready='1']")
            for mark in marks:
                times[mark].append(page.evaluate(f"performance.getEntriesByName('{mark}')[0].startTime"))
            page.close()
        browser.close()
    return times


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.0f} ms, max {max(values):.0f} ms"


def folder_size(folder: Path) -> tuple[int, int]:
    files = [path for path in folder.rglob("*") if path.is_file()]
    return sum(path.stat().st_size for path in files), len(files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        predictions, annotation = write_inputs(folder, args.frames)
        started = time.perf_counter()
        index = review_predictions(predictions, folder / "review", labels=annotation)
        build = time.perf_counter() - started
        page = index.parent / "videos" / "predict-long.html"
        video = open_times(page, ["timeline-drawn"], args.repeats)
        overview = open_times(index, ["tables-drawn", "charts-drawn"], args.repeats)
        total, count = folder_size(index.parent)
        frames_bytes, frames_count = folder_size(index.parent / "frames")
        data_bytes = (page.parent / "predict-long.js").stat().st_size
        plotly_bytes = (index.parent / "assets" / "plotly.min.js").stat().st_size
        print(f"frames: {args.frames}, build (extraction included): {build:.1f} s; {args.repeats} page opens each")
        print(f"video page, navigation start -> timeline drawn: {spread(video['timeline-drawn'])}")
        print(f"overview, navigation start -> tables drawn: {spread(overview['tables-drawn'])}; -> charts drawn: {spread(overview['charts-drawn'])}")
        print(
            f"folder: {total / 2**20:.1f} MiB in {count} files; frames {frames_bytes / 2**20:.1f} MiB in {frames_count} files; "
            f"the video's data file {data_bytes / 1024:.0f} KiB; plotly.min.js {plotly_bytes / 2**20:.1f} MiB"
        )


if __name__ == "__main__":
    main()
