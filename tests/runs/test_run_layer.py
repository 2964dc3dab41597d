"""The shared run layer on a toy task: resume is bit-identical, the folder policy, NaN watch."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from semifer.errors import CheckpointError, ConfigError
from semifer.runs.folder import start_point
from semifer.runs.loop import NonFiniteLossError, Schedule, Validation, run_task
from semifer.runs.metrics import MetricsWriter
from semifer.runs.state import Network


@dataclass
class ToyConfig:
    lr: float = 0.1


class ToyTask:
    """A linear model on random batches drawn from torch's global generator."""

    label = "toy"
    loss_keys = ("loss",)
    config = ToyConfig()

    def __init__(self, poison_at: int = -1) -> None:
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 3)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
        self.networks = {"toy": Network(model, optimizer, scheduler)}
        self.poison_at = poison_at
        self.losses: list[float] = []
        self.scores = iter([0.3, 0.2, 0.5, 0.4])
        self.calls = 0

    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
        loss = torch.nn.functional.cross_entropy(self.networks["toy"].model(x), y)
        self.networks["toy"].step(loss)
        self.calls += 1
        if step == self.poison_at:
            loss = torch.tensor(float("nan"))
        self.losses.append(float(loss.detach()))
        return {"loss": loss.detach()}

    def log_interval(self, writer: MetricsWriter | None, step: int) -> None:
        if writer is not None:
            writer.write(step, {"loss": self.losses[-1]})

    def validate(self, step: int) -> Validation:
        score = next(self.scores)
        return Validation(score, {"val": score}, {"seen_at": step})

    def state(self) -> dict[str, Any]:
        return {"calls": self.calls}

    def load_state(self, state: dict[str, Any]) -> None:
        self.calls = state["calls"]

    def files(self) -> dict[str, str]:
        return {"toy.json": "{}"}

    def tensors(self) -> dict[str, dict[str, torch.Tensor]]:
        return {"extra": {"ones": torch.ones(2)}}


SCHEDULE = Schedule(steps=8, log_every=2, eval_every=2, checkpoint_every=2, keep_last=5)


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(folder / "toy.safetensors")


def test_interrupted_and_resumed_run_is_bit_identical(tmp_path: Path) -> None:
    full = run_task(ToyTask(), SCHEDULE, tmp_path / "full", None, progress=False)
    half = Schedule(4, 2, 2, 2, 5)
    part = run_task(ToyTask(), half, tmp_path / "part", None, progress=False)
    torch.manual_seed(123)  # the resumed run must not depend on the generator's state before it
    resumed_task = ToyTask()
    run_task(resumed_task, SCHEDULE, part, start_point(part, resume=True), progress=False)
    final = "checkpoints/step-00000008"
    a, b = weights(full / final), weights(part / final)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed_task.calls == 8  # restored from the checkpoint (4), then 4 more steps
    rows = [json.loads(line)["step"] for line in (part / "metrics.jsonl").read_text().splitlines()]
    assert rows == [json.loads(line)["step"] for line in (full / "metrics.jsonl").read_text().splitlines()]
    # best/ is the step-6 validation (score 0.5), with its details and the task's files and tensors
    best = json.loads((full / "best" / "state.json").read_text())
    assert (best["step"], best["best_macro_f1"], best["seen_at"]) == (6, 0.5, 6)
    assert (full / "best" / "toy.json").is_file() and (full / "best" / "extra.safetensors").is_file()
    assert (full / "config.yaml").read_text() == (full / "best" / "config.yaml").read_text() == "lr: 0.1\n"


def test_a_used_folder_is_refused_unless_resumed(tmp_path: Path) -> None:
    run = run_task(ToyTask(), SCHEDULE, tmp_path / "run", None, progress=False)
    with pytest.raises(ConfigError, match="resume=true"):
        start_point(run, resume=False)
    assert start_point(run, resume=True) == run / "checkpoints" / "step-00000008"
    assert start_point(tmp_path / "fresh", resume=False) is None
    with pytest.raises(CheckpointError, match="no state.json"):
        start_point(run, resume=False, resume_from=str(tmp_path))


def test_a_nan_loss_stops_before_the_next_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(NonFiniteLossError, match="between step 5 and step 6.*last checkpoint: step 4"):
        run_task(ToyTask(poison_at=4), SCHEDULE, tmp_path / "run", None, progress=False)
    saved = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert saved == ["step-00000002", "step-00000004"]
