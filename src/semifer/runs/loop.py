"""The one training loop: steps, interval logs, validation, best model, checkpoints, resume.

Both stages run through ``run_task``; what differs between them lives in a ``Task``
(the teacher-student task, the supervised baseline, the temporal encoder), which the loop
drives without knowing which it is. Under torchrun every rank runs the loop (the task's
collectives need all of them); only rank 0 writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from semifer.checkpoint import atomic_write_text, prune_checkpoints, step_folder
from semifer.config import config_yaml
from semifer.errors import SemiferError
from semifer.runs.folder import checkpoints_of
from semifer.runs.metrics import MetricsWriter
from semifer.runs.progress import step_progress
from semifer.runs.state import Network, load_run_checkpoint, save_run_checkpoint

BEST = "best"
CONFIG_FILE = "config.yaml"


class NonFiniteLossError(SemiferError):
    """A loss became NaN or infinite: the run stops before anything is checkpointed."""


@dataclass(frozen=True)
class Schedule:
    """When things happen, in optimisation steps."""

    steps: int
    log_every: int
    eval_every: int
    checkpoint_every: int
    keep_last: int


@dataclass
class Validation:
    """One validation: ``score`` (a macro F1) picks ``best/``; ``row`` is logged; ``details`` go into ``best/state.json``."""

    score: float
    row: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)


class Task(Protocol):
    """What one kind of training does; the loop owns everything else."""

    config: Any  # the run's config dataclass: saved as config.yaml in the run folder and every checkpoint
    networks: dict[str, Network]  # saved and restored by name in every checkpoint
    label: str  # the progress bar's
    loss_keys: tuple[str, ...]  # the logged loss shown beside the bar, first one present

    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        """Draw a batch and take one optimisation step (``step`` counts from 0); returns tensors to log."""
        ...

    def log_interval(self, writer: MetricsWriter | None, step: int) -> None:
        """Write the interval's summary row (every rank calls it; ``writer`` is None off rank 0)."""
        ...

    def validate(self, step: int) -> Validation | None:
        """Score the current weights (every rank calls it); None when there is nothing to score on."""
        ...

    def state(self) -> dict[str, Any]:
        """JSON the task needs back on resume, or that readers of a checkpoint look up."""
        ...

    def load_state(self, state: dict[str, Any]) -> None: ...

    def files(self) -> dict[str, str]:
        """Text files each checkpoint folder carries besides ``config.yaml`` (model descriptions)."""
        ...

    def tensors(self) -> dict[str, dict[str, torch.Tensor]]:
        """Extra tensor groups each checkpoint folder carries (besides the networks)."""
        ...


def run_task(
    task: Task, schedule: Schedule, run_dir: Path, start: Path | None, is_main: bool = True, progress: bool = True
) -> Path:
    """Train ``task`` from ``start`` (a checkpoint folder, None for step 0) to ``schedule.steps``.

    Validation runs every ``eval_every`` steps and at the end; a better score replaces
    ``best/`` before the step's checkpoint is written, so the latest checkpoint never records a
    best score that ``best/`` does not hold. A finished run returns at once.
    """
    step, best = 0, -math.inf
    if start is not None:
        state = load_run_checkpoint(start, task.networks)
        step, best = int(state["step"]), float(state["best_macro_f1"])
        task.load_state(state)
    if step >= schedule.steps:
        return run_dir
    files = {**task.files(), CONFIG_FILE: config_yaml(task.config)}
    if is_main:
        atomic_write_text(run_dir / CONFIG_FILE, files[CONFIG_FILE])
    writer = MetricsWriter(run_dir, step) if is_main else None
    watch = _FiniteWatch(step)
    try:
        with step_progress(schedule.steps, step, progress and is_main, task.label, task.loss_keys) as advance:
            while step < schedule.steps:
                logs = task.train_step(step)
                step += 1
                watch.add(logs)
                done = step == schedule.steps
                if step % schedule.log_every == 0 or done:
                    watch.check(step)
                    task.log_interval(writer, step)
                if step % schedule.eval_every == 0 or done:
                    watch.check(step)
                    best = _validate(task, run_dir, writer, step, best, is_main, files)
                if step % schedule.checkpoint_every == 0 or done:
                    watch.check(step)
                    if is_main:
                        save_run_checkpoint(
                            step_folder(checkpoints_of(run_dir), step), task.networks,
                            {"step": step, "best_macro_f1": best, **task.state()}, files, task.tensors(),
                        )
                        prune_checkpoints(checkpoints_of(run_dir), schedule.keep_last)
                    watch.saved = step
                advance(step, logs)
    finally:
        if writer is not None:
            writer.close()
    return run_dir


def _validate(
    task: Task, run_dir: Path, writer: MetricsWriter | None, step: int, best: float, is_main: bool, files: dict[str, str]
) -> float:
    result = task.validate(step)
    if result is None:
        return best
    if writer is not None:
        writer.write(step, result.row)
    if result.score <= best:
        return best
    if is_main:
        progress = {"step": step, "best_macro_f1": result.score, **task.state(), **result.details}
        save_run_checkpoint(run_dir / BEST, task.networks, progress, files, task.tensors())
    return result.score


class _FiniteWatch:
    """Tracks whether every logged loss stayed finite, on the losses' device.

    Reading a flag makes the host wait for the device, so it is read only before the loop
    logs, validates or checkpoints: a NaN is caught before anything records it.
    """

    def __init__(self, saved: int) -> None:
        self.saved = saved
        self.since = saved + 1
        self.flags: dict[str, torch.Tensor] = {}

    def add(self, logs: dict[str, torch.Tensor]) -> None:
        for key, value in logs.items():
            if key.startswith("loss"):
                finite = torch.isfinite(value.detach()).all()
                self.flags[key] = finite if key not in self.flags else self.flags[key] & finite

    def check(self, step: int) -> None:
        for key, finite in self.flags.items():
            if not bool(finite):
                when = f"at step {step}" if self.since == step else f"between step {self.since} and step {step}"
                raise NonFiniteLossError(
                    f"{key} became NaN or infinite {when}; stopped without checkpointing it "
                    f"(last checkpoint: step {self.saved})"
                )
        self.flags.clear()
        self.since = step + 1
