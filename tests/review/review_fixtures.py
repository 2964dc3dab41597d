"""Tiny review inputs with known truth: a demo-shaped folder and a `predict` table with its video."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "temporal"))
sys.path.insert(0, str(TESTS / "inference"))

from inference_helpers import face_frames, make_stage1_checkpoint, make_stage2_checkpoint, write_video  # noqa: E402
from temporal_fixtures import write_fake_cache  # noqa: E402

from semifer.checkpoint import file_digest  # noqa: E402
from semifer.abaw.annotation import write_expr_annotation  # noqa: E402
from semifer.inference.labeling import COLUMNS  # noqa: E402
from semifer.inference.outputs import write_table  # noqa: E402
from semifer.labels import ABAW_CLASSES, NUM_CLASSES  # noqa: E402
from semifer.smoothing import smooth  # noqa: E402
from semifer.temporal.ablation import TEMPORAL_ROW, vote_row  # noqa: E402
from semifer.temporal.evaluate import cache_targets, evaluate_labels, predict_cache  # noqa: E402
from semifer.temporal.features import FeatureCache  # noqa: E402

VALIDATION = {"w1": 120, "w2": 30}
CLIP_FRAMES = 40
CLIP_NO_FACE = (10, 11, 12)
FACE = (50, 40, 120)  # top, left of frame 0 (moves 2 px a frame), side: as inference_helpers.face_frames draws it
MISSING_CROP = "w1"  # one face crop of this video is deleted after the cache was written


@dataclass
class DemoFixture:
    """A demo-shaped folder and the truth of every frame in it."""

    root: Path
    truth: dict[str, np.ndarray]  # validation video -> labels (-1 = not annotated)
    raw: dict[str, np.ndarray]  # validation video -> the stage-2 model's argmax
    has_face: dict[str, np.ndarray]
    missing_crop: int  # frame index (0-based) of MISSING_CROP whose crop is gone
    clip_truth: np.ndarray
    clip_table: pd.DataFrame


def predict_table(video: str, seed: int = 0) -> pd.DataFrame:
    """A `semifer predict` table of ``CLIP_FRAMES`` frames of one face (as face_frames draws it)."""
    rng = np.random.default_rng(seed)
    frames = np.arange(CLIP_FRAMES)
    raw = (frames // 4 + rng.integers(0, 2, CLIP_FRAMES)) % NUM_CLASSES
    labels = smooth(raw, "window", 10)
    probabilities = np.full((CLIP_FRAMES, NUM_CLASSES), 0.02)
    probabilities[frames, raw] = 1 - 0.02 * (NUM_CLASSES - 1)
    no_face = np.isin(frames, CLIP_NO_FACE)
    top, left, side = FACE
    boxes = np.stack([left + 2.0 * frames, np.full(CLIP_FRAMES, top), left + 2.0 * frames + side, np.full(CLIP_FRAMES, top + side)], axis=1)
    boxes[no_face] = np.nan
    table = pd.DataFrame(
        {
            "frame": frames, "timestamp": frames / 25.0, "file": [f"{video}#{i}" for i in frames],
            "track_id": np.where(no_face, -1, 0), "face_left": boxes[:, 0], "face_top": boxes[:, 1],
            "face_right": boxes[:, 2], "face_bottom": boxes[:, 3], "face_score": np.where(no_face, np.nan, 10.0),
            "label": labels, "label_name": [ABAW_CLASSES[k] for k in labels], "raw_label": raw,
            **{name: probabilities[:, c] for c, name in enumerate(ABAW_CLASSES)},
            "no_face": no_face, "unreadable": False, "interpolated": no_face,
        }
    )  # fmt: skip
    return table[COLUMNS]


def write_clip(folder: Path, recorded: str = "") -> tuple[Path, Path, Path, np.ndarray, pd.DataFrame]:
    """The raw video, its annotation and its predictions table; the table's ``file`` column names
    the video as ``recorded`` + path (the demo records paths relative to where it ran)."""
    (folder / "data" / "raw-video").mkdir(parents=True)
    video = write_video(folder / "data" / "raw-video" / "clip.mp4", face_frames(CLIP_FRAMES, no_face=CLIP_NO_FACE))
    truth = np.repeat(np.arange(CLIP_FRAMES // 5) % NUM_CLASSES, 5)
    truth[:2] = -1
    annotation = video.with_suffix(".txt")
    write_expr_annotation(annotation, truth)
    table = predict_table(f"{recorded}data/raw-video/clip.mp4")
    predictions = write_table(table, folder / "predict" / "clip.csv")
    return video, annotation, predictions, truth, table


def write_crops(features: Path, crops: Path) -> dict[str, np.ndarray]:
    """A face crop for every frame the cache says has a face (Aff-Wild2: no image, no face)."""
    cache = FeatureCache(features, "validation")
    masks = {}
    for name in cache.names:
        _, mask = cache.frame_labels(name)
        (crops / name).mkdir(parents=True, exist_ok=True)
        for index in np.flatnonzero(mask):
            image = np.full((32, 32, 3), (index * 7) % 255, np.uint8)
            cv2.imwrite(str(crops / name / f"{index + 1:05d}.jpg"), image)
        masks[name] = mask.astype(bool)
    return masks


def make_demo_folder(root: Path) -> DemoFixture:
    """What `semifer demo demo` leaves behind, at a tiny size, run from ``root`` (paths recorded as ``demo/...``)."""
    demo = root / "demo"
    stage1 = make_stage1_checkpoint(demo / "runs" / "ssl" / "checkpoints" / "step-00000001")
    stage2 = make_stage2_checkpoint(demo / "runs" / "temporal" / "checkpoints" / "step-00000001", stage1, feature_dim=16)
    features = demo / "features" / "ssl"
    write_fake_cache(features, VALIDATION, split="validation", digest=file_digest(stage1 / "student.safetensors"))
    has_face = write_crops(features, demo / "data" / "aff-wild2" / "cropped_aligned")
    missing = int(np.flatnonzero(has_face[MISSING_CROP])[5])
    (demo / "data" / "aff-wild2" / "cropped_aligned" / MISSING_CROP / f"{missing + 1:05d}.jpg").unlink()
    video, annotation, predictions, clip_truth, table = write_clip(demo, recorded="demo/")

    cache, probabilities = predict_cache(stage2, features, "validation")
    raw = {name: values.argmax(axis=1) for name, values in probabilities.items()}
    evaluation = evaluate_labels(raw, cache_targets(cache), "window", 30)
    rows = {TEMPORAL_ROW: evaluation.raw.as_dict(), vote_row("window", 30): evaluation.smoothed.as_dict()}
    stages = {
        "temporal": {"checkpoint": "demo/runs/temporal/checkpoints/step-00000001", "run_dir": "demo/runs/temporal"},
        "features": {"ssl": "demo/features/ssl"},
        "ablation": {"order": list(rows), "rows": rows},
        "predict": {"predictions": "demo/predict/clip.csv", "truth": "demo/data/raw-video/clip.txt", "video": "demo/data/raw-video/clip.mp4"},
    }
    (demo / "stages").mkdir()
    for stage, result in stages.items():
        (demo / "stages" / f"{stage}.json").write_text(json.dumps(result))
    return DemoFixture(
        root=demo,
        truth={name: cache.frame_labels(name)[0] for name in cache.names},
        raw=raw,
        has_face=has_face,
        missing_crop=missing,
        clip_truth=clip_truth,
        clip_table=table,
    )
