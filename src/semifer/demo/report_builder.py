"""Turns a finished demo folder into ``report/report.md`` and ``report/index.html``.

Everything shown is read back from what the stages wrote (stage markers, ``metrics.jsonl``,
the feature caches and checkpoints), so the report can be rebuilt without retraining.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from semifer.demo.figures import plot_curves, plot_timeline, read_metrics
from semifer.demo.page import Report, image, table
from semifer.labels import ABAW_CLASSES
from semifer.metrics import F1Report
from semifer.report import plot_confusion_matrix, plot_per_class_f1

if TYPE_CHECKING:
    from semifer.demo.pipeline import Demo

# The paper's validation macro F1 on the real Aff-Wild2 (Yu et al., CVPR 2024 ABAW workshop):
# only the full method's figure is quoted here.
PAPER_FULL_METHOD_F1 = 0.4443
STAGE_ONE_PANELS = {
    "val/student_macro_f1": "validation macro F1 (student)",
    "loss/supervised": "labeled CE",
    "loss/unlabeled": "student CE on pseudo-labels",
}
FEEDBACK_PANELS = {
    "pseudo/accuracy": "pseudo-label accuracy (vs true class)",
    "feedback/f": "feedback coefficient f (mean)",
    "feedback/f_positive_share": "share of steps with f > 0",
}
TEMPORAL_PANELS = {"loss": "training CE", "val_macro_f1": "validation macro F1 (raw)", "val_macro_f1_smoothed": "validation macro F1 (smoothed)"}


def _reports(rows: dict[str, dict[str, object]]) -> dict[str, F1Report]:
    reports = {}
    for name, row in rows.items():
        matrix = np.asarray(row["confusion_matrix"])
        per_class = np.asarray([row["per_class_f1"][c] for c in ABAW_CLASSES])  # type: ignore[index]
        reports[name] = F1Report(float(row["macro_f1"]), per_class, matrix)  # type: ignore[arg-type]
    return reports


def _ablation_section(demo: "Demo", reports: dict[str, F1Report], order: list[str]) -> str:
    rows = []
    for position, name in enumerate(order):
        paper = f"{PAPER_FULL_METHOD_F1:.4f}" if position == len(order) - 1 else "not quoted"
        rows.append([name, f"{reports[name].macro_f1:.4f}", str(reports[name].frames), paper])
    header = ["method (rows of the paper's Table 1)", "macro F1, ours (synthetic)", "frames", "paper (real Aff-Wild2)"]
    return (
        table(header, rows)
        + "\n\nOurs: the synthetic mini-ABAW validation videos, all annotated frames together (frames "
        "labeled -1 excluded). The paper's column is the paper's own figure on the real Aff-Wild2 "
        "validation set, with ResNet-50 at 224 px and 100,000 steps: a different data set and scale, "
        "shown for orientation only, not as a comparison."
    )


def _timeline(demo: "Demo", folder: Path) -> tuple[Path, str]:
    """Plot the validation video with the most annotated frames under the temporal model."""
    from semifer.smoothing import smooth
    from semifer.temporal.evaluate import cache_probabilities, cache_targets, open_predictor

    checkpoint = Path(demo.results["temporal"]["checkpoint"])
    cache, model, description = open_predictor(checkpoint, Path(demo.results["features"]["ssl"]), "validation")
    targets = cache_targets(cache)
    name = max(targets, key=lambda video: int((targets[video] >= 0).sum()))
    probabilities = cache_probabilities(cache, model, description.get("clip_length", 64), description.get("stride", 32))
    raw = probabilities[name].argmax(axis=1)
    smoothed = smooth(raw, "window", 30)
    has_face = cache.load(name).mask.numpy().astype(bool)
    path = plot_timeline(targets[name], raw, smoothed, has_face, folder / "timeline.png", f"validation video {name}")
    return path, name


def build_report(demo: "Demo") -> Path:
    folder = demo.paths.report
    figures = folder / "figures"
    ablation = demo.results["ablation"]
    reports = _reports(ablation["rows"])
    order = ablation["order"]
    report = Report("semifer demo: the method end to end on the synthetic mini-ABAW")

    counts = demo.results["data"].get("counts", {})
    stage_times = ", ".join(f"{name} {result.get('seconds', 0):.0f} s" for name, result in demo.results.items())
    report.add(
        "What ran",
        f"Synthetic data at scale `{demo.size.scale}` (seed {demo.seed}): "
        + ", ".join(f"{source} {count}" for source, count in counts.items())
        + f". Stage 1: supervised baseline and SSL teacher/student, {demo.size.spatial_steps} steps each; "
        f"stage 2: temporal encoder, {demo.size.temporal_epochs} epochs over the SSL student's cached features; "
        f"30-frame window vote. Wall time per stage: {stage_times}.",
    )
    report.add("Ablation (validation macro F1)", _ablation_section(demo, reports, order))

    per_class = plot_per_class_f1(reports, figures / "per_class_f1.png", "per-class F1 (validation)")
    matrices = [
        image(plot_confusion_matrix(reports[name].matrix, figures / f"confusion_{position}.png", name), folder, name)
        for position, name in enumerate(order)
    ]
    report.add("Per-class F1 and confusion matrices", "\n\n".join([image(per_class, folder, "per-class F1"), *matrices]))

    spatial = {mode: read_metrics(Path(demo.results[mode]["run_dir"])) for mode in ("supervised", "ssl")}
    curves = plot_curves(spatial, STAGE_ONE_PANELS, figures / "stage1_curves.png", "stage 1: supervised vs SSL")
    feedback = plot_curves({"ssl": spatial["ssl"]}, FEEDBACK_PANELS, figures / "stage1_feedback.png", "stage 1: pseudo-labels and feedback")
    temporal = plot_curves(
        {"temporal": read_metrics(Path(demo.results["temporal"]["run_dir"]))}, TEMPORAL_PANELS, figures / "stage2_curves.png", "stage 2"
    )
    training = [image(path, folder, caption) for path, caption in (
        (curves, "stage 1 curves"), (feedback, "pseudo-label accuracy and feedback"), (temporal, "stage 2 curves"),
    ) if path is not None]  # fmt: skip
    report.add(
        "Training curves",
        "Pseudo-label accuracy compares the teacher's pseudo-labels on unlabeled images with the "
        "true classes that the synthetic manifest records.\n\n" + "\n\n".join(training),
    )

    timeline, video = _timeline(demo, figures)
    report.add(
        "One validation video, frame by frame",
        f"`{video}`: true labels, the temporal model's raw per-frame predictions and the 30-frame "
        f"window vote.\n\n{image(timeline, folder, 'timeline')}",
    )
    report.add(
        "Files",
        "\n".join(
            f"- {label}: `{Path(path)}`"
            for label, path in (
                ("data", demo.paths.data),
                ("stage-1 runs (TensorBoard under tb/)", demo.paths.out / "runs"),
                ("feature caches", demo.paths.out / "features"),
                ("temporal checkpoint (use with `semifer predict`)", demo.results["temporal"]["checkpoint"]),
            )
        ),
    )
    report.write(folder)
    return folder
