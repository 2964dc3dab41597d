"""Terminal tables and PNG plots of F1 results (shared by evaluation, ablation and the demo)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
from rich.table import Table

from semifer.checkpoint import atomic_path
from semifer.labels import ABAW_CLASSES
from semifer.metrics import F1Report

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def f1_table(reports: Mapping[str, F1Report], title: str = "macro F1") -> Table:
    """One row per named report: macro F1, per-class F1 and the frame count."""
    table = Table(title=title)
    table.add_column("predictions")
    table.add_column("macro F1", justify="right", style="bold")
    for name in ABAW_CLASSES:
        table.add_column(name[:5], justify="right")
    table.add_column("frames", justify="right")
    for name, report in reports.items():
        table.add_row(name, f"{report.macro_f1:.4f}", *(f"{value:.3f}" for value in report.per_class), str(report.frames))
    return table


def confusion_table(matrix: np.ndarray, title: str = "confusion matrix (rows: true, columns: predicted)") -> Table:
    table = Table(title=title)
    table.add_column("true \\ pred")
    for name in ABAW_CLASSES:
        table.add_column(name[:5], justify="right")
    for name, row in zip(ABAW_CLASSES, np.asarray(matrix)):
        table.add_row(name, *(str(int(value)) for value in row))
    return table


def plot_confusion_matrix(matrix: np.ndarray, path: Path, title: str = "confusion matrix") -> Path:
    """Row-normalised confusion matrix as a PNG (counts printed in each cell)."""
    plt = pyplot()

    matrix = np.asarray(matrix)
    rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    figure, axes = plt.subplots(figsize=(7, 6))
    image = axes.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(ABAW_CLASSES)), ABAW_CLASSES, rotation=45, ha="right")
    axes.set_yticks(range(len(ABAW_CLASSES)), ABAW_CLASSES)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    for (row, column), count in np.ndenumerate(matrix):
        axes.text(column, row, str(int(count)), ha="center", va="center", fontsize=7, color="white" if rates[row, column] > 0.5 else "black")
    figure.colorbar(image, ax=axes, fraction=0.046)
    figure.tight_layout()
    return save_figure(figure, path)


def plot_per_class_f1(reports: Mapping[str, F1Report], path: Path, title: str = "per-class F1") -> Path:
    """Grouped bars of per-class F1, one group per class, one bar per report."""
    plt = pyplot()

    figure, axes = plt.subplots(figsize=(9, 4))
    width = 0.8 / max(len(reports), 1)
    positions = np.arange(len(ABAW_CLASSES))
    for offset, (name, report) in enumerate(reports.items()):
        axes.bar(positions + offset * width, report.per_class, width, label=f"{name} ({report.macro_f1:.3f})")
    axes.set_xticks(positions + 0.4 - width / 2, ABAW_CLASSES, rotation=30, ha="right")
    axes.set_ylim(0, 1)
    axes.set_ylabel("F1")
    axes.set_title(title)
    axes.legend(fontsize=8)
    figure.tight_layout()
    return save_figure(figure, path)


def markdown_table(rows: list[tuple[str, float, int]], title: str) -> str:
    """A Markdown table of ``(name, macro F1, frames)`` rows."""
    lines = [f"## {title}", "", "| setting | macro F1 | frames |", "| --- | ---: | ---: |"]
    lines += [f"| {name} | {value:.4f} | {frames} |" for name, value, frames in rows]
    return "\n".join(lines) + "\n"


def pyplot() -> ModuleType:
    """``matplotlib.pyplot`` on the Agg backend (files only, no display), imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure: "Figure", path: Path, dpi: int = 120) -> Path:
    """Write ``figure`` as PNG atomically (temporary file, then rename) and close it."""
    try:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, dpi=dpi, format="png")
    finally:
        pyplot().close(figure)
    return Path(path)
