"""The demo's stages, in order, each skipped when a previous run already finished it.

``run_demo(out)`` generates the synthetic mini-ABAW, trains the supervised baseline, the
SSL teacher/student and the same SSL recipe with the feedback term off (stage 1), caches
their students' features, fits a HOG linear probe on the same labeled data, trains the
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
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import OmegaConf
from rich.console import Console

from semifer.checkpoint import atomic_write_json, latest_checkpoint
from semifer.config import load_config, recipe_path
from semifer.demo.rows import FEEDBACK_OFF_ROW
from semifer.errors import CheckpointError, ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoSize:
    """How much the demo does: the full run (<15 min on 2 cores) or ``--quick`` (<3 min)."""

    scale: str
    spatial_steps: int
    eval_every: int
    temporal_epochs: int
    feedback_ablation: bool = True  # also train SSL with ssl.feedback=none: the "f = 0" row


# A third stage-1 run does not fit the full demo's 15 minutes on 2 cores: the f = 0 row is
# trained by `semifer demo --seeds`, which runs every row.
FULL = DemoSize(scale="demo", spatial_steps=1200, eval_every=400, temporal_epochs=15, feedback_ablation=False)
QUICK = DemoSize(scale="small", spatial_steps=80, eval_every=40, temporal_epochs=4, feedback_ablation=False)

# Stage-1 runs by name: their overrides of the `demo` recipe; everything else (seed, steps,
# data) is shared, so the runs differ only in these keys.
SPATIAL_RUNS: dict[str, list[str]] = {
    "supervised": ["mode=supervised"],
    "ssl": ["mode=ssl"],
    "ssl-f0": ["mode=ssl", "ssl.feedback=none"],
}


@dataclass
class DemoPaths:
    """Where a demo folder keeps the data, the runs, the caches, the report and the stage markers."""

    out: Path

    def __post_init__(self) -> None:
        self.data = self.out / "data"
        self.report = self.out / "report"
        self.review = self.out / "review"

    def run(self, name: str) -> Path:
        return self.out / "runs" / name

    def features(self, name: str) -> Path:
        return self.out / "features" / name

    def marker(self, stage: str) -> Path:
        return self.out / "stages" / f"{stage}.json"


def final_checkpoint(run_dir: Path) -> Path:
    """The last checkpoint of a finished run (not the best-on-validation one: the ablation
    is scored on the validation split, so picking by it would flatter every row)."""
    folder = latest_checkpoint(run_dir / "checkpoints")
    if folder is None:
        raise CheckpointError(f"{run_dir} holds no checkpoint")
    return folder


# Phases of a stage-1 recipe counted in steps: a shorter demo keeps each at its share of the run.
STEP_COUNTED_KEYS = ("ssl.student_wait_steps", "ssl.lambda_c_warmup", "optim.warmup_steps")


def phases_scaled_to(recipe: Path, steps: int) -> list[str]:
    """Overrides that shrink the recipe's step-counted phases for a run of ``steps``.

    ``--quick`` and the tests run a few dozen steps; the recipe's 200-step wait before the
    student starts would outlast such a run (a config error), so it keeps its share instead.
    """
    values = OmegaConf.load(recipe)
    recipe_steps = OmegaConf.select(values, "steps")
    if not recipe_steps or steps >= recipe_steps:
        return []
    counted = {key: OmegaConf.select(values, key) for key in STEP_COUNTED_KEYS}
    return [f"{key}={count * steps // recipe_steps}" for key, count in counted.items() if count]


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

    @property
    def spatial_runs(self) -> list[str]:
        """The stage-1 runs this size trains, in order."""
        return ["supervised", "ssl"] + (["ssl-f0"] if self.size.feedback_ablation else [])

    def run(self) -> Path:
        from semifer.demo.report_builder import build_report
        from semifer.review import build_review

        stages: list[tuple[str, Callable[[], dict[str, Any]]]] = [
            ("data", self.make_data),
            *[(name, partial(self.train_spatial, name)) for name in self.spatial_runs],
            ("features", self.extract),
            ("probe", self.probe),
            ("temporal", self.train_temporal),
            ("ablation", self.ablation),
            ("predict", self.predict_raw_video),
            ("report", lambda: {"report": str(build_report(
                self.paths.out, self.results, seed=self.seed,
                spatial_steps=self.size.spatial_steps, temporal_epochs=self.size.temporal_epochs,
            ))}),  # fmt: skip
            ("review", lambda: {"review": str(build_review(self.paths.out, self.paths.review))}),
        ]
        for index, (name, work) in enumerate(stages, start=1):
            if name in ("report", "review"):
                self.paths.marker(name).unlink(missing_ok=True)  # both always reflect the latest runs
            self.stage(name, index, len(stages), work)
        return self.paths.report

    def make_data(self) -> dict[str, Any]:
        from semifer.synth.generate import generate

        # No marker means no finished data set: a half-written one from a killed run goes.
        shutil.rmtree(self.paths.data, ignore_errors=True)
        manifest = generate(self.paths.data, scale=self.size.scale, seed=self.seed)
        return {"scale": self.size.scale, "counts": {source: c["images"] for source, c in manifest.counts().items()}}

    def spatial_config(self, name: str) -> Any:
        """The resolved config of stage-1 run ``name`` (a key of ``SPATIAL_RUNS``)."""
        from semifer.ssl.config import SpatialConfig

        size = self.size
        recipe = recipe_path("demo")
        overrides = [
            *SPATIAL_RUNS[name],
            *phases_scaled_to(recipe, size.spatial_steps),
            f"data.root={self.paths.data}",
            f"run_dir={self.paths.run(name)}",
            f"steps={size.spatial_steps}",
            f"eval_every={size.eval_every}",
            f"checkpoint_every={size.eval_every}",
            f"seed={self.seed}",
            "resume=true",
        ]
        return load_config(SpatialConfig, recipe, overrides)

    def train_spatial(self, name: str) -> dict[str, Any]:
        from semifer.ssl.loop import train_spatial

        run_dir = train_spatial(self.spatial_config(name), progress=True)
        return {"run_dir": str(run_dir), "checkpoint": str(final_checkpoint(run_dir))}

    def extract(self) -> dict[str, Any]:
        from semifer.temporal.extraction import extract_features

        caches = {}
        for name in self.spatial_runs:
            # Only the SSL student's features train stage 2; the other runs are only scored on validation.
            splits = ("train", "validation") if name == "ssl" else ("validation",)
            checkpoint = Path(self.results[name]["checkpoint"])
            caches[name] = str(extract_features(checkpoint, self.paths.data, self.paths.features(name), splits, num_workers=1))
        return caches

    def probe(self) -> dict[str, Any]:
        """The HOG probe on the supervised run's labeled pool, and the chance levels of the
        validation labels it is scored on."""
        from semifer.probe import chance_macro_f1, hog_probe, majority_macro_f1
        from semifer.ssl.data import build_data
        from semifer.ssl.evaluate import validation_items

        config = self.spatial_config("supervised")
        data = build_data(config.data, config.seed)
        if data.validation is None:
            raise ConfigError("the demo recipe names no data.validation_root")
        items = validation_items(data.validation, 0)  # every annotated frame with a face image
        labels = data.validation.labels[items]
        return {
            "hog": hog_probe(data.labeled, data.validation, items).as_dict(),
            "labeled_images": len(data.labeled),
            "chance_macro_f1": chance_macro_f1(labels),
            "majority_macro_f1": majority_macro_f1(labels),
        }

    def train_temporal(self) -> dict[str, Any]:
        from semifer.temporal.config import TemporalConfig
        from semifer.temporal.trainer import train_temporal

        overrides = [
            f"features={self.results['features']['ssl']}",
            f"run_dir={self.paths.run('temporal')}",
            f"epochs={self.size.temporal_epochs}",
            f"seed={self.seed}",
            "resume=true",
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
            extra_per_frame=(
                (FEEDBACK_OFF_ROW, Path(self.results["ssl-f0"]["checkpoint"]), Path(features["ssl-f0"]))
                if "ssl-f0" in features
                else None
            ),
        )
        return {"rows": table.as_dict(), "order": [row.name for row in table.rows]}

    def predict_raw_video(self) -> dict[str, Any]:
        """``semifer predict`` with the stage-2 checkpoint on the held-out raw camera video (faces
        found by the detector in whole frames), scored against its true labels."""
        from semifer.data.affwild2 import AffWild2Frames
        from semifer.inference.align import measure_margin
        from semifer.inference.detect import build_detector
        from semifer.inference.predictor import Recognizer
        from semifer.inference.scoring import score_predictions
        from semifer.models.frame_encoder import FrameEncoder

        manifest = json.loads((self.paths.data / "manifest.json").read_text())
        video = self.paths.data / manifest["raw_videos"][0]
        truth = video.with_suffix(".txt")
        # The synthetic crops frame the whole head, looser than Aff-Wild2's: the checkpoint's frame
        # encoder records the framing measured on the training crops (about 1.6 box sides here, 1.3
        # for Aff-Wild2), so predict, here or `semifer predict` on it later, cuts faces the same way.
        frames = AffWild2Frames(self.paths.data / "aff-wild2", "train")
        sample = [frames.load(int(i)) for i in np.linspace(0, len(frames) - 1, 64).round()]
        margin = measure_margin(build_detector(), sample)
        checkpoint = Path(self.results["temporal"]["checkpoint"])
        FrameEncoder.load(checkpoint).with_margin(margin).save(checkpoint)
        recognizer = Recognizer.from_checkpoint(checkpoint, device="cpu")
        table = recognizer.predict_video(video)
        predictions = self.paths.out / "predict" / f"{video.stem}.csv"
        predictions.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(predictions, index=False)
        report = score_predictions(table, truth, source=str(predictions))
        return {
            "video": str(video), "truth": str(truth), "predictions": str(predictions), "report": report.as_dict(),
            "face_share": float(1 - table["no_face"].mean()), "margin": margin,
        }


def run_demo(out: Path, quick: bool = False, seed: int = 0, console: Console | None = None) -> Path:
    """Run (or finish) the demo in ``out``; returns the report folder."""
    demo = Demo(out, QUICK if quick else FULL, seed, console or Console())
    return demo.run()
