"""Stage-1 variants on the demo data over several seeds: validation F1 beside the loop's diagnostics.

Usage:
    python benchmarks/compare_stage1.py --data 'DATA/seed-{seed}' --seeds 0,1,2 --out runs/levers \\
        --variant 'shipped:' --variant 'supervised:mode=supervised' --variant 'uratio 3:ssl.uratio=3 batch_size=16' \\
        [--config configs/demo.yaml] [key=value ...]

``--data`` is a folder pattern with ``{seed}`` (made by ``semifer synth DIR --scale demo --seed N``);
each variant is ``name:overrides`` of the recipe, and the trailing ``key=value`` apply to every
run (``steps=4000``). Each run is ``semifer train-spatial --config CONFIG data.root=DATA seed=N
OVERRIDES``; finished runs are reused (``resume=true``), so rerunning prints the table again.
The networks are scored at the last step. The diagnostics are means over the last
``--tail`` logged rows (100 steps at the demo's ``log_every``), as are the student's L_u and
the pseudo-label accuracy.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from semifer.config import load_config
from semifer.ssl.config import SpatialConfig
from semifer.ssl.loop import train_spatial

COLUMNS = {  # column: (metrics key, where it is read: "last" validation or "tail" of the logged rows)
    "student F1": ("val/student_macro_f1", "last"),
    "teacher F1": ("val/teacher_macro_f1", "last"),
    "student's smallest class": ("val/student_smallest_class_share", "last"),
    "student agreement": ("loop/student_agreement", "tail"),
    "teacher self-agreement": ("loop/teacher_self_agreement", "tail"),
    "pseudo-label accuracy": ("pseudo/accuracy", "tail"),
    "L_u": ("loss/unlabeled", "tail"),
    "f, labels mostly right": ("feedback/f_mostly_right", "tail"),
    "f, labels mostly wrong": ("feedback/f_mostly_wrong", "tail"),
}


def _rows(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]


def summarise(run: Path, tail: int) -> dict[str, float]:
    """The figures of one finished run (a key is absent when the run did not log it)."""
    rows = _rows(run)
    figures: dict[str, float] = {}
    for column, (key, where) in COLUMNS.items():
        values = [row[key] for row in rows if key in row]
        if not values:
            continue
        figures[column] = values[-1] if where == "last" else statistics.mean(values[-tail:])
    return figures


def _cell(values: list[float]) -> str:
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def _seed_cell(values: list[float]) -> str:
    return " / ".join(f"{v:.3f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="data folder pattern with {seed}")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--out", default="runs/compare-stage1")
    parser.add_argument("--config", default="configs/demo.yaml")
    parser.add_argument("--variant", action="append", required=True, help="NAME:key=value key=value ...")
    parser.add_argument("--tail", type=int, default=4, help="logged rows the diagnostics are averaged over")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    seeds = [int(seed) for seed in args.seeds.split(",")]
    results: dict[str, dict[int, dict[str, float]]] = {}
    for variant in args.variant:
        name, _, overrides = variant.partition(":")
        results[name] = {}
        for seed in seeds:
            run_dir = Path(args.out) / name.replace(" ", "-").replace("/", "-") / f"seed-{seed}"
            config = load_config(SpatialConfig, args.config, [
                f"data.root={args.data.format(seed=seed)}", f"seed={seed}", *overrides.split(), *args.overrides,
                f"run_dir={run_dir}", "resume=true",
            ])  # fmt: skip
            started = time.perf_counter()
            train_spatial(config, progress=False)
            results[name][seed] = summarise(run_dir, args.tail)
            sys.stdout.write(f"{name} seed {seed} ({time.perf_counter() - started:.0f} s): {results[name][seed]}\n")
            sys.stdout.flush()
    (Path(args.out) / "summary.json").write_text(json.dumps(results, indent=2) + "\n")
    columns = list(COLUMNS)
    lines = ["| variant | " + " | ".join(columns) + " |", "| --- |" + " ---: |" * len(columns)]
    for name, by_seed in results.items():
        cells = [_cell([figures[c] for figures in by_seed.values() if c in figures]) for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if len(seeds) > 1:
        lines += ["", "Per seed (" + ", ".join(map(str, seeds)) + "):", ""]
        lines += ["| variant | " + " | ".join(columns[:4]) + " |", "| --- |" + " ---: |" * 4]
        for name, by_seed in results.items():
            cells = [_seed_cell([figures[c] for figures in by_seed.values() if c in figures]) for c in columns[:4]]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    sys.stdout.write("\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
