"""``semifer train-spatial``: stage-1 teacher-student pretraining (or the supervised baseline)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from semifer.cli.app import app, log_to_terminal


@app.command("train-spatial")
def train_spatial_command(
    overrides: list[str] = typer.Argument(None, help="key=value overrides, e.g. steps=500 ssl.feedback=taylor"),
    config: Path = typer.Option(..., "--config", "-c", help="Recipe YAML path, or the name of a shipped recipe (demo, abaw6)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the progress bar."),
) -> None:
    """Train the teacher and student of stage 1 (mode=supervised: one network on labeled data)."""
    from semifer.config import load_config, recipe_path
    from semifer.ssl.config import SpatialConfig
    from semifer.ssl.loop import train_spatial

    log_to_terminal()
    spatial = load_config(SpatialConfig, recipe_path(config), list(overrides or []))
    run = train_spatial(spatial, progress=progress)
    Console().print(f"stage 1 run: [bold]{run}[/]")
