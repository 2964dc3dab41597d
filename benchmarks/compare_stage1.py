"""Stage 1 on the demo synthetic data: SSL (exact), SSL (taylor) and supervised, same steps.

Usage: python benchmarks/compare_stage1.py [--config configs/demo.yaml] [--out runs/compare-stage1] [key=value ...]

Each variant is the recipe plus one override; finished runs are reused (resume=true). Prints a
markdown table of validation macro F1 (student, the network stage 2 uses) and the teacher's
pseudo-label accuracy on the unlabeled images over training.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from semifer.config import load_config
from semifer.ssl.config import SpatialConfig
from semifer.ssl.loop import train_spatial

VARIANTS = {  # name: (run folder, overrides)
    "SSL, exact feedback": ("exact", ["mode=ssl", "ssl.feedback=exact"]),
    "SSL, taylor feedback": ("taylor", ["mode=ssl", "ssl.feedback=taylor"]),
    "supervised": ("supervised", ["mode=supervised"]),
}


def _rows(run: Path) -> list[dict[str, float]]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]


def _series(rows: list[dict[str, float]], key: str) -> list[tuple[int, float]]:
    return [(int(r["step"]), r[key]) for r in rows if key in r]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/demo.yaml")
    parser.add_argument("--out", default="runs/compare-stage1")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    lines = [
        "| variant | val macro F1 (student) by step | final student F1 | final teacher F1 | pseudo-label accuracy by step | s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, (folder, overrides) in VARIANTS.items():
        run_dir = Path(args.out) / folder
        config = load_config(SpatialConfig, args.config, [*overrides, f"run_dir={run_dir}", "resume=true", *args.overrides])
        started = time.perf_counter()
        train_spatial(config, progress=False)
        seconds = time.perf_counter() - started
        rows = _rows(run_dir)
        student = _series(rows, "val/student_macro_f1")
        teacher = _series(rows, "val/teacher_macro_f1")
        accuracy = _series(rows, "pseudo/accuracy")
        f1_text = ", ".join(f"{s}: {v:.3f}" for s, v in student)
        accuracy_text = ", ".join(f"{s}: {v:.2f}" for s, v in accuracy[:: max(1, len(accuracy) // 5)]) or "n/a"
        teacher_text = f"{teacher[-1][1]:.3f}" if teacher else "n/a"
        lines.append(f"| {name} | {f1_text} | {student[-1][1]:.3f} | {teacher_text} | {accuracy_text} | {seconds:.0f} |")
        sys.stdout.write(lines[-1] + "\n")
        sys.stdout.flush()
    sys.stdout.write("\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
