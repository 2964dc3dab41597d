"""A rich progress bar with ETA for the training loop (silent when disabled or off rank 0)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

Advance = Callable[[int, dict[str, torch.Tensor]], None]


@contextmanager
def step_progress(total: int, start: int, enabled: bool) -> Iterator[Advance]:
    """Yields ``advance(step, logs)``; shows the teacher (or supervised) loss beside the bar."""
    if not enabled:
        yield lambda step, logs: None
        return
    columns = (
        TextColumn("stage 1"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[loss]}"),
    )
    with Progress(*columns) as bar:
        job = bar.add_task("train", total=total, completed=start, loss="")

        def advance(step: int, logs: dict[str, torch.Tensor]) -> None:
            loss = logs.get("loss/teacher", logs.get("loss/supervised"))
            bar.update(job, completed=step, loss=f"loss {float(loss):.3f}" if loss is not None else "")

        yield advance
