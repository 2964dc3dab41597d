"""``semifer review``: the offline review pages of a run, a demo folder or a predictions table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from semifer.cli.app import app, log_to_terminal


@app.command("review")
def review_command(
    source: Annotated[
        Path, typer.Argument(metavar="RUN_OR_PREDICTIONS", help="A `semifer predict` table (.csv/.parquet), a demo output folder, or a stage-2 run.")
    ],
    out: Annotated[Path, typer.Argument(metavar="OUT", help="Folder for the pages (open OUT/index.html; works offline).")],
    labels: Annotated[Path | None, typer.Option("--labels", help="EXPR annotation of the predicted video (ABAW header, one label per frame).")] = None,
    video: Annotated[Path | None, typer.Option("--video", help="The predicted video, when the table's `file` column no longer finds it.")] = None,
    features: Annotated[Path | None, typer.Option("--features", help="Stage-2 run: the feature cache it was trained on.")] = None,
    images: Annotated[Path | None, typer.Option("--images", help="Stage-2 run: the cropped_aligned folder of the face crops.")] = None,
    split: Annotated[str, typer.Option("--split", help="Stage-2 run: the cache split to review.")] = "validation",
    smoothing: Annotated[str, typer.Option("--smoothing", help="Stage-2 run: window (paper), sliding or none.")] = "window",
    window: Annotated[int, typer.Option("--window", help="Stage-2 run: smoothing window in frames.")] = 30,
) -> None:
    """Write an offline review site: F1, clickable confusion matrices, and a frame-by-frame viewer per video."""
    from semifer.review import review

    log_to_terminal()
    page = review(source, out, labels=labels, video=video, features=features, images=images, split=split, smoothing=smoothing, window=window)
    Console().print(f"review: {page}  (open it in a browser; it works from disk)", highlight=False)
