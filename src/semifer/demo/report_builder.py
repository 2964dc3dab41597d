"""Turns a finished demo folder into ``report/report.md`` and ``report/index.html``.

Everything shown is read back from what the stages wrote (stage markers, ``metrics.jsonl``,
the feature caches and checkpoints), so the report can be rebuilt without retraining.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from semifer.demo.figures import Panel, plot_curves, plot_timeline, read_metrics, same_key_panels
from semifer.demo.page import Report, image, table
from semifer.demo.rows import CHANCE_ROW, MAJORITY_ROW, PROBE_ROW
from semifer.labels import ABAW_CLASSES, NUM_CLASSES
from semifer.metrics import F1Report
from semifer.report import plot_confusion_matrix, plot_per_class_f1
from semifer.temporal.ablation import TEMPORAL_ROW

Results = dict[str, dict[str, Any]]  # the stage results of a demo folder, by stage name

# The paper's validation macro F1 on the real Aff-Wild2 (Yu et al., CVPR 2024 ABAW workshop):
# only the full method's figure is quoted here.
PAPER_FULL_METHOD_F1 = 0.4443
SPATIAL_NAMES = {"supervised": "supervised", "ssl": "SSL", "ssl-f0": "SSL, f = 0"}
SPATIAL_RUNS_DESCRIBED = {
    "supervised": "supervised baseline",
    "ssl": "SSL teacher/student",
    "ssl-f0": "the same SSL recipe with the feedback term off (f = 0)",
}
LOOP_PANELS = [
    Panel("agreement with the pseudo-labels", {
        "student, weak view": ("ssl", "loop/student_agreement"),
        "teacher, second weak view": ("ssl", "loop/teacher_self_agreement"),
    }),
    Panel("pseudo-label accuracy (vs true class)", {"SSL": ("ssl", "pseudo/accuracy")}),
    Panel("feedback coefficient f (mean)", {
        "all steps": ("ssl", "feedback/f"),
        "labels mostly right": ("ssl", "feedback/f_mostly_right"),
        "labels mostly wrong": ("ssl", "feedback/f_mostly_wrong"),
    }),
    Panel("smallest class share of validation answers", {
        "student": ("ssl", "val/student_smallest_class_share"), "teacher": ("ssl", "val/teacher_smallest_class_share"),
    }),
]  # fmt: skip
TEMPORAL_PANELS = {"loss": "training CE", "val_macro_f1": "validation macro F1 (raw)", "val_macro_f1_smoothed": "validation macro F1 (smoothed)"}


def _report(row: dict[str, Any]) -> F1Report:
    per_class = np.asarray([row["per_class_f1"][c] for c in ABAW_CLASSES])
    return F1Report(float(row["macro_f1"]), per_class, np.asarray(row["confusion_matrix"]))


def _reports(rows: dict[str, dict[str, Any]]) -> dict[str, F1Report]:
    return {name: _report(row) for name, row in rows.items()}


def stage_one_panels(runs: list[str]) -> list[Panel]:
    """Student F1, labeled CE with its chance line, and the students' pseudo-label CE.

    The labeled CE panel holds the supervised network's loss and both SSL networks' (the
    teacher's ``loss/supervised``, the student's ``loss/student_labeled`` after its step): a
    network that guesses uniformly over 8 classes sits at ln 8 = 2.08.
    """
    names = {run: SPATIAL_NAMES.get(run, run) for run in runs}
    labeled = {"supervised": ("supervised", "loss/supervised")} if "supervised" in runs else {}
    if "ssl" in runs:
        labeled |= {"SSL teacher": ("ssl", "loss/supervised"), "SSL student": ("ssl", "loss/student_labeled")}
    students = [run for run in runs if run != "supervised"]
    return [
        Panel("validation macro F1 (student)", {names[run]: (run, "val/student_macro_f1") for run in runs}),
        Panel("labeled CE", labeled, reference=(math.log(NUM_CLASSES), f"chance (ln {NUM_CLASSES})")),
        Panel("student CE on pseudo-labels", {names[run]: (run, "loss/unlabeled") for run in students}),
    ]


def loop_section(rows: list[dict[str, Any]], figure: Path | None, folder: Path) -> str:
    """The loop's diagnostics at the SSL run's last logged row, and their curves (docs/stage1.md)."""
    logged = [row for row in rows if "loop/student_agreement" in row]
    if not logged:
        return "The SSL run logged no diagnostics (`ssl.diagnose_every=0`)."
    last = logged[-1]
    student, teacher = last["loop/student_agreement"], last["loop/teacher_self_agreement"]
    verdict = "as often as or more often than" if student >= teacher else "less often than"
    text = (
        f"At step {last['step']} the student gives its teacher's pseudo-label on the weak view of an unlabeled "
        f"face {student:.0%} of the time, {verdict} the teacher gives the same label to a second weak view of it "
        f"({teacher:.0%}); its pseudo-label loss L_u is {last.get('loss/unlabeled', float('nan')):.2f} (ln 8 = 2.08)."
    )
    per_class = [
        [name, f"{last.get(f'pseudo/class_share/{name}', 0):.2f}", *(
            f"{last[key]:.2f}" if key in last else "-" for key in (f"pseudo/precision/{name}", f"pseudo/recall/{name}")
        )]
        for name in ABAW_CLASSES
    ]  # fmt: skip
    if "pseudo/accuracy" in last:
        text += (
            f" Its pseudo-labels are right {last['pseudo/accuracy']:.0%} of the time against the true classes the "
            "synthetic manifest records:\n\n" + table(["class", "share of pseudo-labels", "precision", "recall"], per_class)
        )
    return text + ("\n\n" + image(figure, folder, "the loop's diagnostics") if figure is not None else "")


def _reference_section(probe: dict[str, Any]) -> str:
    """The HOG probe and guessing, on the same validation frames: where a CNN row stands."""
    frames = str(probe["hog"]["frames"])
    fitted = f"fitted on the {probe['labeled_images']} labeled images stage 1 trains on (HOG of 48x48 grey faces, class-balanced)"
    rows = [
        [PROBE_ROW, f"{probe['hog']['macro_f1']:.4f}", frames, fitted],
        [CHANCE_ROW, f"{probe['chance_macro_f1']:.4f}", frames, "expected macro F1 of picking one of the 8 classes uniformly"],
        [MAJORITY_ROW, f"{probe['majority_macro_f1']:.4f}", frames, "the most frequent validation class for every frame"],
    ]
    return (
        table(["reference", "macro F1", "frames", "what it is"], rows)
        + "\n\nReference levels on the annotated validation frames that have a face image (the table "
        "above also counts frames without one, filled from their neighbours). A CNN row near chance "
        "learned nothing usable; one below the HOG probe learned less than a linear model on "
        "hand-made features did from the same labeled data."
    )


def _ablation_section(reports: dict[str, F1Report], order: list[str]) -> str:
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


def _predict_section(predicted: dict[str, Any], reports: dict[str, F1Report]) -> str:
    """predict (detect, track, align, encode, temporal, vote) on whole camera frames beside the
    ablation's SSL + temporal row, which reads the pre-cropped validation faces."""
    temporal = reports[TEMPORAL_ROW]
    rows = [
        [TEMPORAL_ROW + " (validation videos, pre-cropped faces)", f"{temporal.macro_f1:.4f}", str(temporal.frames)],
        [f"`semifer predict` on `{Path(predicted['video']).name}` (raw frames)", f"{predicted['report']['macro_f1']:.4f}", str(predicted["report"]["frames"])],
    ]
    return (
        table(["", "macro F1", "frames"], rows)
        + "\n\nThe raw video cuts between people seen nowhere in training, each inside a larger scene; `predict` "
        f"found a face in {predicted['face_share']:.0%} of its frames (frames without one take their "
        f"neighbours' label) and cut each face {predicted['margin']:.2f} detector-box sides wide, the "
        f"framing measured on the training crops. Predictions: `{predicted['predictions']}`."
    )


def _timeline(results: Results, folder: Path) -> tuple[Path, str]:
    """Plot the validation video with the most annotated frames under the temporal model."""
    from semifer.smoothing import smooth
    from semifer.temporal.evaluate import cache_targets, predict_cache

    checkpoint = Path(results["temporal"]["checkpoint"])
    cache, probabilities = predict_cache(checkpoint, Path(results["features"]["ssl"]), "validation")
    targets = cache_targets(cache)
    name = max(targets, key=lambda video: int((targets[video] >= 0).sum()))
    raw = probabilities[name].argmax(axis=1)
    smoothed = smooth(raw, "window", 30)
    has_face = cache.load(name).mask.numpy().astype(bool)
    path = plot_timeline(targets[name], raw, smoothed, has_face, folder / "timeline.png", f"validation video {name}")
    return path, name


def build_report(out: Path, results: Results, *, seed: int, spatial_steps: int, temporal_epochs: int) -> Path:
    """Write ``<out>/report/`` for the demo folder ``out`` from its stages' ``results``.

    ``seed``, ``spatial_steps`` and ``temporal_epochs`` are what the stages ran with; the stage-1
    runs are those in ``results``, in the order they ran.
    """
    folder = out / "report"
    figures = folder / "figures"
    spatial_runs = [run for run in results if run in SPATIAL_RUNS_DESCRIBED]
    ablation = results["ablation"]
    reports = _reports(ablation["rows"])
    order = ablation["order"]
    report = Report("semifer demo: the method end to end on the synthetic mini-ABAW")

    counts = results["data"].get("counts", {})
    stage_times = ", ".join(f"{name} {result.get('seconds', 0):.0f} s" for name, result in results.items())
    report.add(
        "What ran",
        f"Synthetic data at scale `{results['data']['scale']}` (seed {seed}): "
        + ", ".join(f"{source} {count}" for source, count in counts.items())
        + f". Stage 1: {', '.join(SPATIAL_RUNS_DESCRIBED[run] for run in spatial_runs)}, "
        f"{spatial_steps} steps each; "
        "a HOG + logistic regression probe on the same labeled images; "
        f"stage 2: temporal encoder, {temporal_epochs} epochs over the SSL student's cached features; "
        f"30-frame window vote. Wall time per stage: {stage_times}.",
    )
    probe = results["probe"]
    report.add("Ablation (validation macro F1)", _ablation_section(reports, order) + "\n\n" + _reference_section(probe))

    in_order = {**{name: reports[name] for name in order}, PROBE_ROW: _report(probe["hog"])}
    per_class = plot_per_class_f1(in_order, figures / "per_class_f1.png", "per-class F1 (validation)")
    matrices = [
        image(plot_confusion_matrix(reports[name].matrix, figures / f"confusion_{position}.png", name), folder, name)
        for position, name in enumerate(order)
    ]
    report.add("Per-class F1 and confusion matrices", "\n\n".join([image(per_class, folder, "per-class F1"), *matrices]))

    spatial = {run: read_metrics(Path(results[run]["run_dir"])) for run in spatial_runs}
    curves = plot_curves(spatial, stage_one_panels(spatial_runs), figures / "stage1_curves.png", "stage 1: supervised vs SSL")
    loop = plot_curves(spatial, LOOP_PANELS, figures / "stage1_loop.png", "stage 1: does the student follow its teacher?")
    temporal = plot_curves(
        {"temporal": read_metrics(Path(results["temporal"]["run_dir"]))},
        same_key_panels(TEMPORAL_PANELS, ["temporal"]),
        figures / "stage2_curves.png",
        "stage 2",
    )
    training = [image(path, folder, caption) for path, caption in (
        (curves, "stage 1 curves"), (temporal, "stage 2 curves"),
    ) if path is not None]  # fmt: skip
    report.add("Training curves", "\n\n".join(training))
    if "ssl" in spatial:
        report.add("Stage 1: does the student follow its teacher?", loop_section(spatial["ssl"], loop, folder))

    report.add("`semifer predict` on a held-out raw video", _predict_section(results["predict"], reports))

    timeline, video = _timeline(results, figures)
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
                ("data", out / "data"),
                ("stage-1 runs (TensorBoard under tb/)", out / "runs"),
                ("feature caches", out / "features"),
                ("temporal checkpoint (use with `semifer predict`)", results["temporal"]["checkpoint"]),
            )
        ),
    )
    report.write(folder)
    return folder
