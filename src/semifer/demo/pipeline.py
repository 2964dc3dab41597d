"""The demo's stages, in order, each skipped when a previous run already finished it.

``run_demo(out)`` generates the synthetic mini-ABAW, trains the supervised baseline and the
SSL teacher/student (stage 1), caches the SSL and supervised students' features, trains the
temporal encoder (stage 2), scores the ablation and writes the report. A stage that finished
leaves ``<out>/stages/<name>.json`` (its result and wall time); re-running skips it, and the
trainers resume a stage that was killed half way.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from semifer.checkpoint import atomic_write_json, latest_checkpoint
from semifer.config import load_config, recipe_path
from semifer.errors import CheckpointError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoSize:
    """How much the demo does: the full run (<15 min on 2 cores) or ``--quick`` (<3 min)."""

    scale: str
    spatial_steps: int
    eval_every: int
    temporal_epochs: int


FULL = DemoSize(scale="demo", spatial_steps=400, eval_every=100, temporal_epochs=15)
QUICK = DemoSize(scale="small", spatial_steps=80, eval_every=40, temporal_epochs=4)


@dataclass
class DemoPaths:
    out: Path

    @property
    def data(self) -> Path:
        return self.out / "data"

    def run(self, name: str) -> Path:
        return self.out / "runs" / name

    def features(self, name: str) -> Path:
        return self.out / "features" / name

    @property
    def report(self) -> Path:
        return self.out / "report"

    def marker(self, stage: str) -> Path:
        return self.out / "stages" / f"{stage}.json"


def final_checkpoint(run_dir: Path) -> Path:
    """The last checkpoint of a finished run (not the best-on-validation one: the ablation
    is scored on the validation split, so picking by it would flatter every row)."""
    folder = latest_checkpoint(run_dir / "checkpoints")
    if folder is None:
        raise CheckpointError(f"{run_dir} holds no checkpoint")
    return folder


class Demo:
    """Runs the stages of one demo folder; each stage's result is kept in ``results``."""

    def __init__(self, out: Path, size: DemoSize, seed: int, console: Console) -> None:
        self.paths = DemoPaths(Path(out))
        self.size = size
        self.seed = seed
        self.console = console
        self.results: dict[str, dict[str, Any]] = {}

    def stage(self, name: str, index: int, total: int, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        marker = self.paths.marker(name)
        if marker.is_file():
            self.results[name] = json.loads(marker.read_text())
            self.console.print(f"[dim][{index}/{total}] {name}: done earlier, skipped[/]")
            return self.results[name]
        self.console.rule(f"[bold][{index}/{total}] {name}")
        started = time.perf_counter()
        result = work()
        result["seconds"] = round(time.perf_counter() - started, 1)
        atomic_write_json(marker, result)
        self.results[name] = result
        self.console.print(f"[green]{name} finished in {result['seconds']:.0f} s[/]")
        return result

    def run(self) -> Path:
        from semifer.demo.report_builder import build_report

        stages: list[tuple[str, Callable[[], dict[str, Any]]]] = [
            ("data", self.make_data),
            ("supervised", lambda: self.train_spatial("supervised")),
            ("ssl", lambda: self.train_spatial("ssl")),
            ("features", self.extract),
            ("temporal", self.train_temporal),
            ("ablation", self.ablation),
            ("report", lambda: {"report": str(build_report(self))}),
        ]
        for index, (name, work) in enumerate(stages, start=1):
            if name == "report":
                self.paths.marker(name).unlink(missing_ok=True)  # the report always reflects the latest runs
            self.stage(name, index, len(stages), work)
        return self.paths.report

    def make_data(self) -> dict[str, Any]:
        from semifer.data.synth.generate import generate

        # No marker means no finished data set: a half-written one from a killed run goes.
        shutil.rmtree(self.paths.data, ignore_errors=True)
        manifest = generate(self.paths.data, scale=self.size.scale, seed=self.seed)
        return {"scale": self.size.scale, "counts": {source: c["images"] for source, c in manifest.counts().items()}}

    def spatial_config(self, mode: str) -> Any:
        from semifer.ssl.config import SpatialConfig

        size = self.size
        overrides = [
            f"mode={mode}",
            f"data.root={self.paths.data}",
            f"run_dir={self.paths.run(mode)}",
            f"steps={size.spatial_steps}",
            f"eval_every={size.eval_every}",
            f"checkpoint_every={size.eval_every}",
            f"seed={self.seed}",
            "resume=true",
        ]
        return load_config(SpatialConfig, recipe_path("demo"), overrides)

    def train_spatial(self, mode: str) -> dict[str, Any]:
        from semifer.ssl.loop import train_spatial

        run_dir = train_spatial(self.spatial_config(mode), progress=True)
        return {"run_dir": str(run_dir), "checkpoint": str(final_checkpoint(run_dir))}

    def extract(self) -> dict[str, Any]:
        from semifer.temporal.extraction import extract_features

        caches = {}
        for mode in ("ssl", "supervised"):
            checkpoint = Path(self.results[mode]["checkpoint"])
            caches[mode] = str(extract_features(checkpoint, self.paths.data, self.paths.features(mode), num_workers=1))
        return caches

    def train_temporal(self) -> dict[str, Any]:
        from semifer.temporal.config import TemporalConfig
        from semifer.temporal.trainer import train_temporal

        overrides = [
            f"features={self.results['features']['ssl']}",
            f"run_dir={self.paths.run('temporal')}",
            f"epochs={self.size.temporal_epochs}",
            f"seed={self.seed}",
        ]
        run_dir = train_temporal(load_config(TemporalConfig, recipe_path("temporal-demo"), overrides), progress=True)
        return {"run_dir": str(run_dir), "checkpoint": str(final_checkpoint(run_dir))}

    def ablation(self) -> dict[str, Any]:
        from semifer.temporal.ablation import ablation_from_caches

        features = self.results["features"]
        table = ablation_from_caches(
            supervised=Path(self.results["supervised"]["checkpoint"]),
            supervised_features=Path(features["supervised"]),
            ssl=Path(self.results["ssl"]["checkpoint"]),
            ssl_features=Path(features["ssl"]),
            temporal=Path(self.results["temporal"]["checkpoint"]),
        )
        return {"rows": table.as_dict(), "order": [row.name for row in table.rows]}


def run_demo(out: Path, quick: bool = False, seed: int = 0, console: Console | None = None) -> Path:
    """Run (or finish) the demo in ``out``; returns the report folder."""
    demo = Demo(out, QUICK if quick else FULL, seed, console or Console())
    return demo.run()
