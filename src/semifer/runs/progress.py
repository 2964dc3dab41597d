"""A rich progress bar with ETA for the training loop (silent when disabled or off rank 0)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from time import monotonic

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

Advance = Callable[[int, dict[str, torch.Tensor]], None]


@contextmanager
def step_progress(total: int, start: int, enabled: bool, label: str, loss_keys: Sequence[str]) -> Iterator[Advance]:
    """Yields ``advance(step, logs)``; shows the first of ``loss_keys`` found in the logs beside the bar.

    The loss is read (a host sync on a GPU) only when the text is refreshed, twice a second.
    """
    if not enabled:
        yield lambda step, logs: None
        return
    columns = (
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[loss]}"),
    )
    with Progress(*columns) as bar:
        job = bar.add_task("train", total=total, completed=start, loss="")
        shown = [-1.0]

        def advance(step: int, logs: dict[str, torch.Tensor]) -> None:
            if monotonic() - shown[0] < 0.5 and step < total:
                bar.update(job, completed=step)
                return
            shown[0] = monotonic()
            loss = next((logs[key] for key in loss_keys if key in logs), None)
            bar.update(job, completed=step, loss=f"loss {float(loss):.3f}" if loss is not None else "")

        yield advance
