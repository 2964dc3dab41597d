"""``semifer predict`` and ``semifer export``: a trained checkpoint on raw video, or to ONNX."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from semifer.cli.app import app

# Heavy imports (torch, av) happen inside the commands so that `semifer --help` stays quick.


def _progress_total(source: object) -> int | None:
    total = getattr(source, "frame_count", None) or (len(source) if hasattr(source, "__len__") else None)  # type: ignore[arg-type]
    return int(total) if total else None


@app.command("predict")
def predict_command(
    checkpoint: Path = typer.Argument(..., help="A stage-2 checkpoint folder (temporal) or a stage-1 one (per frame)."),
    input_path: str = typer.Argument(..., metavar="INPUT", help="A video file, a folder of frames, an image or a quoted glob."),
    out: Path = typer.Option(Path("predictions"), "--out", "-o", help="Folder for the output files."),
    fmt: str = typer.Option("csv", "--format", help="Table format: csv or parquet."),
    all_faces: bool = typer.Option(False, "--all-faces", help="Follow every face (one row per face per frame, with track ids)."),
    annotated_video: bool = typer.Option(False, "--annotated-video", help="Also write the video with boxes and labels drawn."),
    timeline: bool = typer.Option(False, "--timeline", help="Also write the per-frame timeline plot (PNG)."),
    detector: str = typer.Option("haar", "--detector", help="Face detector: haar (bundled), yunet (needs --detector-model), mtcnn."),
    detector_model: Path | None = typer.Option(None, "--detector-model", help="Model file of the detector (YuNet ONNX)."),
    crops: bool = typer.Option(False, "--crops", help="INPUT frames are already aligned face crops: no detection."),
    margin: float | None = typer.Option(
        None, "--margin", help="Crop side as a multiple of the detector box; default: the framing the checkpoint's frame encoder records.",
    ),
    detect_every: int = typer.Option(10, "--detect-every", help="Scan the whole frame every n-th frame; in between, search near the followed faces."),
    smoothing: str = typer.Option("window", "--smoothing", help="Label smoothing: window (paper), sliding or none."),
    window: int = typer.Option(30, "--window", help="Smoothing window in frames."),
    batch_size: int = typer.Option(32, "--batch-size", help="Face crops per forward pass."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:1 ..."),
    fps: float = typer.Option(float("nan"), "--fps", help="Frame rate of a frame folder, for its timestamps."),
    truth: Path | None = typer.Option(
        None, "--truth", help="EXPR annotation of INPUT (ABAW header, one label per frame): print the macro F1 of the labels.",
    ),
) -> None:
    """Recognise the facial expression of every frame of INPUT; write one table row per frame (per face)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from semifer.inference.outputs import write_abaw_labels, write_table
    from semifer.inference.predictor import Recognizer
    from semifer.inference.render import plot_timeline, write_annotated_video
    from semifer.inference.video_io import ImageListSource, open_input

    console = Console(stderr=True)
    source = open_input(input_path, fps=fps)
    is_images = isinstance(source, ImageListSource) and not source.frame_folder
    if truth is not None:
        from semifer.abaw.annotation import read_expr_annotation
        from semifer.errors import InputError

        if is_images:
            raise InputError(f"--truth scores a video or a frame folder, and {input_path} is images")
        read_expr_annotation(truth)  # a bad annotation stops the run before the model does
    recognizer = Recognizer.from_checkpoint(
        checkpoint, device=device, batch_size=batch_size, detector=detector, detector_model=detector_model,
        smoothing=smoothing, window=window, detect_every=detect_every, margin=margin,
    )  # fmt: skip
    if is_images:
        table = recognizer.predict_images(input_path, crops=crops)
    else:
        columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task(f"predict {source.name}", total=_progress_total(source))
            table = recognizer.predict_video(source, all_faces=all_faces, crops=crops, on_frame=lambda _: progress.advance(task))
    written = [write_table(table, out / f"{source.name}.{fmt}", fmt)]
    if not is_images:
        written.append(write_abaw_labels(table, out / f"{source.name}.abaw.txt", source.name))
    frames = int(table["frame"].nunique())
    faceless = int((table.groupby("frame")["no_face"].all() | table.groupby("frame")["unreadable"].all()).sum())
    if not is_images and annotated_video:
        written.append(write_annotated_video(source, table, out / f"{source.name}.annotated.mp4"))
    if not is_images and timeline:
        written.append(plot_timeline(table, out / f"{source.name}.timeline.png", source.name))
    if faceless == frames:
        console.print(
            f"[yellow]warning:[/] no face found in any of the {frames} frames of {input_path}: every row is flagged "
            "no_face and its label is a guess (try --detector or --crops)", highlight=False,
        )  # fmt: skip
    for message in table.attrs.get("warnings", []):
        console.print(f"[yellow]warning:[/] {message}", highlight=False)
    unreadable = int(table.drop_duplicates("frame")["unreadable"].sum())
    if unreadable:
        console.print(f"[yellow]warning:[/] {unreadable} unreadable frames were skipped and flagged", highlight=False)
    Console().print(f"{frames} frames ({frames - faceless} with a face) -> " + ", ".join(str(p) for p in written), highlight=False)
    if truth is not None:
        from semifer.inference.scoring import score_predictions
        from semifer.labels import ABAW_CLASSES

        report = score_predictions(table, truth, source=str(written[0]))
        per_class = " ".join(f"{name} {f1:.3f}" for name, f1 in zip(ABAW_CLASSES, report.per_class, strict=True))
        Console().print(f"macro F1 {report.macro_f1:.4f} over {report.frames} annotated frames of {truth} ({per_class})", highlight=False)


@app.command("export")
def export_command(
    checkpoint: Path = typer.Argument(..., help="A stage-2 or stage-1 checkpoint folder."),
    out: Path = typer.Argument(..., help="Folder for frame_model.onnx, temporal.onnx and preprocessing.json."),
) -> None:
    """Export the checkpoint's networks to ONNX (the frame model, and the temporal encoder when present)."""
    from semifer.inference.export import export_onnx

    for path in export_onnx(checkpoint, out):
        Console().print(str(path), highlight=False)
