"""The ``semifer`` typer application; command modules register themselves on it."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="semifer",
    help="Facial expression recognition in video: train, evaluate and run the ABAW 8-class method.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
