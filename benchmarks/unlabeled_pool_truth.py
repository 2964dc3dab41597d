"""What does the student's unlabeled pool teach about the validation videos, with perfect labels?

The student learns only from the unlabeled pool. This trains one network, in the supervised
mode of the recipe (same backbone, steps, augmentation, class-balanced draws), on that pool
with every image's true class from the synthetic manifest, and prints its validation macro F1.
Beside the supervised baseline (trained on the labeled pool) it shows how much the pool's own
images and classes carry to the video frames; beside the SSL student it shows whether the
student gets more from its teacher's view of those images than their true classes would give.

Usage: python benchmarks/unlabeled_pool_truth.py DATA RUN_DIR [key=value ...]
       (DATA from `semifer synth DATA --scale demo`, e.g. demo-output/data; the decoded-image
       cache goes to RUN_DIR/decoded-cache, so DATA's own cache is left alone)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from semifer.config import load_config, recipe_path
from semifer.labels import ABAW_CLASSES
from semifer.ssl.config import SpatialConfig
from semifer.ssl.data import FacePool, SpatialData, build_data
from semifer.ssl.loop import train_spatial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("overrides", nargs="*", help="recipe overrides, e.g. steps=600")
    args = parser.parse_args()
    overrides = [f"data.root={args.data}", "mode=supervised", f"run_dir={args.run_dir}",
                 f"data.decoded_cache={args.run_dir / 'decoded-cache'}", *args.overrides]  # fmt: skip
    config = load_config(SpatialConfig, recipe_path("demo"), overrides)
    data = build_data(config.data, config.seed)
    if data.unlabeled_truth is None or (data.unlabeled_truth < 0).any():
        raise SystemExit(f"{args.data}: the manifest does not give every unlabeled image's class")
    pool = FacePool(data.unlabeled.parts, labeled=False)
    pool.labels = data.unlabeled_truth.copy()
    counts = np.bincount(pool.labels, minlength=len(ABAW_CLASSES))
    print(f"unlabeled pool: {len(pool)} images; " + ", ".join(f"{n} {c}" for n, c in zip(ABAW_CLASSES, counts)))
    train_spatial(config, progress=False, data=SpatialData(pool, data.unlabeled, data.validation, data.unlabeled_truth))
    rows = [json.loads(line) for line in (args.run_dir / "metrics.jsonl").read_text().splitlines()]
    scores = [(row["step"], row["val/student_macro_f1"]) for row in rows if "val/student_macro_f1" in row]
    print("validation macro F1 by step: " + ", ".join(f"{step}: {score:.3f}" for step, score in scores))


if __name__ == "__main__":
    main()
