"""`semifer demo`: the whole method on the synthetic mini-ABAW, then a report."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from semifer.cli.app import app


@app.command("demo")
def demo_command(
    out: Annotated[Path, typer.Argument(help="Folder for the data, runs, caches and report.")] = Path("demo-output"),
    quick: Annotated[bool, typer.Option("--quick", help="A first look in under 3 minutes (smaller data, fewer steps).")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the data and of every run.")] = 0,
) -> None:
    """Generate data, train stage 1 (supervised and SSL) and stage 2, smooth, evaluate, report.

    Re-running skips the stages that finished; delete OUT/stages/<stage>.json to redo one.
    """
    from semifer.demo.pipeline import run_demo

    console = Console()
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[RichHandler(console=console, show_path=False)])
    report = run_demo(out, quick=quick, seed=seed, console=console)
    console.print(f"\n[bold green]report:[/] {report / 'report.md'}  (open {report / 'index.html'} in a browser)")
