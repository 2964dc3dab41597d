"""`semifer demo`: the whole method on the synthetic mini-ABAW, then a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from semifer.cli.app import app, log_to_terminal


@app.command("demo")
def demo_command(
    out: Annotated[Path, typer.Argument(help="Folder for the data, runs, caches and report.")] = Path("demo-output"),
    quick: Annotated[bool, typer.Option("--quick", help="A first look in under 3 minutes (smaller data, fewer steps).")] = False,
    seed: Annotated[int | None, typer.Option(help="Seed of the data and of every run (default 0).")] = None,
    seeds: Annotated[
        str | None, typer.Option(help="Run the whole demo once per seed (e.g. 0,1,2) into OUT/seed-<n>/ and summarise in OUT/seeds.md.")
    ] = None,
) -> None:
    """Generate data, train stage 1 (supervised and SSL) and stage 2, smooth, evaluate, report.

    Re-running skips the stages that finished; delete OUT/stages/<stage>.json to redo one.
    """
    from semifer.demo.pipeline import run_demo
    from semifer.demo.seeds import parse_seeds, run_seeds
    from semifer.errors import ConfigError

    if seeds is not None and seed is not None:
        raise ConfigError("--seed and --seeds cannot be used together: --seeds 0,1,2 names every seed")
    seed_list = parse_seeds(seeds) if seeds is not None else None
    console = Console()
    log_to_terminal(console)
    if seed_list is not None:
        summary = run_seeds(out, seed_list, quick=quick, console=console)
        console.print(f"\n[bold green]summary:[/] {summary}  (each seed's report: {out}/seed-<n>/report/report.md)")
        return
    report = run_demo(out, quick=quick, seed=seed or 0, console=console)
    console.print(f"\n[bold green]report:[/] {report / 'report.md'}  (open {report / 'index.html'} in a browser)")
    console.print(f"[bold green]review:[/] open {report.parent / 'review' / 'index.html'} to step through the videos frame by frame")
