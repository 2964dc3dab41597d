"""The ``semifer`` typer application; command modules register themselves on it."""

from __future__ import annotations

import logging

import typer
from rich.console import Console
from rich.logging import RichHandler

app = typer.Typer(
    name="semifer",
    help="Facial expression recognition in video: train, evaluate and run the ABAW 8-class method.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


def log_to_terminal(console: Console | None = None) -> None:
    """INFO logs through rich, without source paths: what the training and review commands show."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[RichHandler(console=console, show_path=False)])
