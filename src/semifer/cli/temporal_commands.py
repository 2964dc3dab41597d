"""Stage-2 commands: extract-features, train-temporal, evaluate, submit, ablation."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from semifer.cli.app import app, log_to_terminal


@app.command("extract-features")
def extract_features_command(
    checkpoint: Path = typer.Argument(..., help="Stage-1 checkpoint folder (student.safetensors + model.json)."),
    data: Path = typer.Argument(..., help="Aff-Wild2 folder (annotations/ + cropped_aligned/), or a folder holding aff-wild2/."),
    out: Path = typer.Argument(..., help="Feature cache folder (created; re-runs skip cached videos)."),
    split: list[str] = typer.Option(["train", "validation"], "--split", help="Splits to extract (repeatable)."),
    batch_size: int = typer.Option(64, "--batch-size"),
    workers: int = typer.Option(2, "--workers", help="DataLoader workers decoding frames."),
    device: str = typer.Option("auto", "--device"),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Cache one feature vector per frame from the frozen stage-1 student (sharded under torchrun)."""
    from semifer.temporal.extraction import extract_features

    log_to_terminal()
    cache = extract_features(checkpoint, data, out, split, batch_size, workers, device, progress)
    Console().print(f"feature cache: [bold]{cache}[/]")


@app.command("train-temporal")
def train_temporal_command(
    overrides: list[str] = typer.Argument(None, help="key=value overrides, e.g. features=cache epochs=5"),
    config: Path = typer.Option(..., "--config", "-c", help="Recipe YAML path, or the name of a shipped recipe (temporal-demo, temporal-abaw6)."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Train the temporal encoder on a feature cache; best/ holds the best validation macro F1."""
    from semifer.config import load_config, recipe_path
    from semifer.temporal.config import TemporalConfig
    from semifer.temporal.trainer import train_temporal

    log_to_terminal()
    run = train_temporal(load_config(TemporalConfig, recipe_path(config), list(overrides or [])), progress=progress)
    Console().print(f"stage 2 run: [bold]{run}[/] (model: {run / 'best'})")


@app.command("submit")
def submit_command(
    checkpoint: Path = typer.Argument(..., help="Stage-2 checkpoint folder (e.g. RUN/best), or a stage-1 one for per-frame labels."),
    features: Path = typer.Argument(..., help="Feature cache written by extract-features with the matching stage-1 checkpoint."),
    out: Path = typer.Argument(..., help="Submission file to write."),
    split: str = typer.Option("validation", "--split", help="Cache split to predict."),
    videos: Path = typer.Option(None, "--videos", help="Text file, one video name per line: exactly these must be written."),
    smoothing: str = typer.Option("window", "--smoothing", help="window | sliding | none"),
    window: int = typer.Option(30, "--window"),
) -> None:
    """Write the ABAW submission file (every frame of every video, validated before writing)."""
    from semifer.abaw.submission import write_submission
    from semifer.data.base import read_text
    from semifer.errors import DataFormatError
    from semifer.temporal.evaluate import predict_split

    log_to_terminal()
    wanted: list[str] = []
    if videos is not None:  # read first: a bad list should not cost a whole prediction run
        if not videos.is_file():
            raise DataFormatError(f"{videos}: video list not found")
        wanted = [line.strip() for line in read_text(videos).splitlines() if line.strip()]
    labels = predict_split(checkpoint, features, split, smoothing, window)
    counts = {name: len(values) for name, values in labels.items()}
    if videos is not None:
        missing = [name for name in wanted if name not in labels]
        if missing:
            raise DataFormatError(f"{videos}: {len(missing)} listed video(s) not in the cache {features / split}, e.g. {missing[0]}")
        labels = {name: labels[name] for name in wanted}
        counts = {name: counts[name] for name in wanted}
    path = write_submission(out, labels, counts)
    Console().print(f"submission: [bold]{path}[/] ({len(labels)} videos, {sum(counts.values())} frames)")


@app.command("evaluate")
def evaluate_command(
    predictions: Path = typer.Argument(..., help="Predictions in the ABAW submission format (as written by semifer submit)."),
    annotations: Path = typer.Argument(..., help="Folder of EXPR annotation files, e.g. annotations/Validation_Set."),
    images: Path = typer.Option(
        None, "--images", help="The cropped_aligned frame folder (default: ANNOTATIONS/../../cropped_aligned); it tells "
        "the annotation's extra last line from a missing prediction.",
    ),
    smoothing: str = typer.Option("window", "--smoothing", help="Smoothing also reported: window | sliding | none"),
    window: int = typer.Option(30, "--window"),
    plots: Path = typer.Option(None, "--plots", help="Folder for confusion-matrix and per-class PNGs."),
    as_json: Path = typer.Option(None, "--json", help="Also write the results as JSON here."),
) -> None:
    """Macro F1, per-class F1 and confusion matrix over all annotated frames, raw and smoothed."""
    from semifer.abaw.alignment import annotation_targets
    from semifer.abaw.submission import read_submission
    from semifer.report import confusion_table, f1_table, plot_confusion_matrix, plot_per_class_f1
    from semifer.temporal.evaluate import evaluate_labels

    log_to_terminal()
    predicted = read_submission(predictions, annotations)
    targets = annotation_targets(annotations, predicted, images, source=str(predictions))
    result = evaluate_labels(predicted, targets, smoothing, window, source=str(predictions))
    reports = {"raw": result.raw, f"{smoothing} ({window})": result.smoothed}
    console = Console()
    console.print(f1_table(reports, title=f"{predictions.name}: {len(targets)} videos"))
    console.print(confusion_table(result.raw.matrix))
    if plots is not None:
        plot_confusion_matrix(result.raw.matrix, plots / "confusion-raw.png", "raw predictions")
        plot_confusion_matrix(result.smoothed.matrix, plots / "confusion-smoothed.png", f"{smoothing} vote ({window})")
        plot_per_class_f1(reports, plots / "per-class-f1.png")
        console.print(f"plots: [bold]{plots}[/]")
    if as_json is not None:
        from semifer.checkpoint import atomic_write_text

        atomic_write_text(as_json, json.dumps(result.as_dict(), indent=2))


@app.command("ablation")
def ablation_command(
    ssl: Path = typer.Argument(..., help="Stage-1 SSL checkpoint folder (the student the temporal model was trained on)."),
    temporal: Path = typer.Argument(..., help="Stage-2 checkpoint folder (e.g. RUN/best)."),
    data: Path = typer.Argument(..., help="Aff-Wild2 folder, or a folder holding aff-wild2/."),
    supervised: Path = typer.Option(None, "--supervised", help="Stage-1 supervised checkpoint folder (baseline row)."),
    cache: Path = typer.Option(Path("runs/ablation-cache"), "--cache", help="Where the validation feature caches go."),
    out: Path = typer.Option(Path("ablation.md"), "--out", help="Markdown table to write."),
    split: str = typer.Option("validation", "--split"),
    smoothing: str = typer.Option("window", "--smoothing"),
    window: int = typer.Option(30, "--window"),
    workers: int = typer.Option(2, "--workers"),
) -> None:
    """The paper's Table 1 rows on the validation split: supervised, SSL, + temporal, + smoothing."""
    from semifer.report import f1_table
    from semifer.temporal.ablation import run_ablation

    log_to_terminal()
    ablation = run_ablation(supervised, ssl, temporal, data, cache, out, split, smoothing, window, num_workers=workers)
    Console().print(f1_table({row.name: row.report for row in ablation.rows}, title=f"ablation ({split})"))
    Console().print(f"table: [bold]{out}[/]")
