"""``semifer inspect``: what a data folder holds, before any training touches it."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from semifer.cli.app import app


@app.command("inspect")
def inspect_command(
    path: Path = typer.Argument(..., help="A data folder: one source, or a folder of sources."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    check_images: bool = typer.Option(
        False, "--check-images", help="Decode every image to count corrupt ones (slow)."
    ),
) -> None:
    """Recognise the data formats under PATH and count images, frames and classes per split."""
    # Imported here so that `semifer --help` does not pay for the readers' imports.
    from semifer.data.inspect import inspect_folder, render_report

    report = inspect_folder(path, check_images=check_images)
    console = Console()
    if as_json:
        console.print_json(json.dumps(report.to_dict()))
    else:
        render_report(report, console)
