"""The demo report's figures: training curves, pseudo-label accuracy, a validation timeline.

Each function reads what the runs already wrote (``metrics.jsonl``) or takes plain arrays,
and writes one PNG; the report links them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from semifer.labels import ABAW_CLASSES
from semifer.report import pyplot, save_figure
from semifer.smoothing import runs


def read_metrics(run_dir: Path) -> list[dict[str, float]]:
    """The rows of a run's ``metrics.jsonl`` (empty when the run logged nothing)."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _series(rows: list[dict[str, float]], key: str) -> tuple[np.ndarray, np.ndarray]:
    points = [(row["step"], row[key]) for row in rows if key in row and "step" in row]
    if not points:
        return np.empty(0), np.empty(0)
    steps, values = zip(*points)
    return np.asarray(steps), np.asarray(values, dtype=float)


@dataclass(frozen=True)
class Panel:
    """One axis of a curves figure.

    ``lines`` maps a legend name to ``(run, metric key)``, so one panel can compare different
    keys of different runs (the SSL teacher's and student's labeled CE); ``reference`` is a
    horizontal ``(value, legend name)`` line such as a chance level.
    """

    label: str
    lines: Mapping[str, tuple[str, str]]
    reference: tuple[float, str] | None = None


def same_key_panels(panels: Mapping[str, str], run_names: Iterable[str]) -> list[Panel]:
    """One panel per metric key (``panels``: key -> axis label), one line per run."""
    names = list(run_names)
    return [Panel(label, {name: (name, key) for name in names}) for key, label in panels.items()]


def plot_curves(
    runs: Mapping[str, list[dict[str, float]]], panels: Sequence[Panel], path: Path, title: str
) -> Path | None:
    """Draw the panels that have at least one logged point, side by side.

    Returns ``None`` (and writes nothing) when no run logged any of the keys.
    """
    drawn = [panel for panel in panels if any(_series(runs.get(run, []), key)[0].size for run, key in panel.lines.values())]
    if not drawn:
        return None
    figure, axes = pyplot().subplots(1, len(drawn), figsize=(4.6 * len(drawn), 3.6), squeeze=False)
    for axis, panel in zip(axes[0], drawn):
        for name, (run, key) in panel.lines.items():
            steps, values = _series(runs.get(run, []), key)
            if steps.size:
                axis.plot(steps, values, marker="o" if steps.size < 15 else None, ms=3, label=name)
        if panel.reference is not None:
            value, name = panel.reference
            axis.axhline(value, color="0.4", linestyle="--", linewidth=1, label=name)
        axis.set_xlabel("step")
        axis.set_ylabel(panel.label)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path, dpi=110)


def plot_timeline(
    truth: np.ndarray, raw: np.ndarray, smoothed: np.ndarray, has_face: np.ndarray, path: Path, title: str
) -> Path:
    """True, raw and smoothed labels of one video along time; grey spans mark frames with no face."""
    frames = np.arange(1, len(truth) + 1)
    figure, axes = pyplot().subplots(3, 1, figsize=(12, 5.5), sharex=True, sharey=True)
    for axis, labels, name, colour in zip(
        axes, (truth, raw, smoothed), ("true label", "raw prediction", "smoothed prediction"), ("black", "tab:blue", "tab:red")
    ):
        for start, stop in runs(~has_face):
            axis.axvspan(start + 0.5, stop + 0.5, color="0.88", lw=0)
        annotated = labels >= 0
        axis.scatter(frames[annotated], labels[annotated], s=4, color=colour)
        axis.set_title(name, fontsize=9, loc="left")
        axis.set_yticks(range(len(ABAW_CLASSES)), ABAW_CLASSES, fontsize=8)
        axis.set_ylim(len(ABAW_CLASSES) - 0.5, -0.5)
        axis.grid(axis="y", alpha=0.3)
    axes[-1].set_xlabel("frame (grey: no face image; true labels of -1 frames are not drawn)")
    figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path, dpi=110)
