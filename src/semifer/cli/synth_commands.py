"""``semifer synth``: generate the synthetic mini-ABAW data set."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from semifer.cli.app import app


@app.command("synth")
def synth(
    out: Annotated[Path, typer.Argument(help="Output folder (created; must be empty).")],
    scale: Annotated[str, typer.Option(help="Size: tiny (tests), small (demo --quick), demo (default), large.")] = "demo",
    seed: Annotated[int, typer.Option(help="Everything is a function of the seed.")] = 0,
    workers: Annotated[int, typer.Option(help="Rendering processes (0 = one per CPU).")] = 0,
) -> None:
    """Generate synthetic Aff-Wild2, AffectNet, ExpW and MS1MV2 data in their real formats."""
    from semifer.synth import generate

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.perf_counter()
    manifest = generate(out, scale=scale, seed=seed, workers=workers or None)
    table = Table(title=f"synthetic mini-ABAW in {out} (scale {scale}, seed {seed})")
    for column in ("source", "faces", "images", "labeled"):
        table.add_column(column, justify="left" if column == "source" else "right")
    for source, counts in manifest.counts().items():
        table.add_row(source, str(counts["items"]), str(counts["images"]), str(counts["labeled"]))
    console = Console()
    console.print(table)
    console.print(
        f"manifest: {out / 'manifest.json'}  contact sheet: {out / 'contact_sheet.png'}  ({time.perf_counter() - started:.1f} s)"
    )
