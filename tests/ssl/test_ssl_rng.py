"""A resumed stage-1 run draws the same random numbers as the run it continues."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from semifer.runs.distributed import Placement
from semifer.runs.state import load_run_checkpoint, save_run_checkpoint
from semifer.ssl.training import build_network

from ssl_helpers import spatial_config


def draws(device: str = "cpu") -> tuple[object, ...]:
    python = random.random(), random.gauss(0, 1)
    return (*python, tuple(np.random.rand(3)), float(np.random.randn()), torch.rand(3, device=device).tolist())


def scramble() -> None:
    random.seed(99)
    np.random.seed(99)
    torch.manual_seed(99)


def save_and_restore(tmp_path: Path, device: str = "cpu") -> tuple[tuple[object, ...], tuple[object, ...]]:
    config = spatial_config(tmp_path)
    network, _ = build_network(config, 0.1, Placement(0, 1, torch.device(device)), seed=0, steps=config.steps)
    random.seed(1)
    random.gauss(0, 1)  # leaves a cached second Gaussian in the state
    np.random.seed(2)
    np.random.randn()  # numpy too
    torch.manual_seed(3)
    folder = tmp_path / "checkpoint"
    save_run_checkpoint(folder, {"student": network}, {"step": 0})
    expected = draws(device)
    scramble()
    load_run_checkpoint(folder, {"student": network})
    return expected, draws(device)


def test_python_numpy_and_torch_states_round_trip(tmp_path: Path) -> None:
    expected, restored = save_and_restore(tmp_path)
    assert restored == expected


def test_cuda_state_is_restored_when_cuda_is_available(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    saved = torch.arange(16, dtype=torch.uint8)
    restored: list[torch.Tensor] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda: saved.clone())
    monkeypatch.setattr(torch.cuda, "set_rng_state", restored.append)
    save_and_restore(tmp_path)
    assert len(restored) == 1 and torch.equal(restored[0], saved)


def test_cuda_state_is_skipped_when_resuming_without_cuda(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda: torch.arange(16, dtype=torch.uint8))
    config = spatial_config(tmp_path)
    network, _ = build_network(config, 0.1, Placement(0, 1, torch.device("cpu")), seed=0, steps=config.steps)
    save_run_checkpoint(tmp_path / "checkpoint", {"student": network}, {"step": 0})
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda state: pytest.fail("set_rng_state without CUDA"))
    load_run_checkpoint(tmp_path / "checkpoint", {"student": network})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_draws_round_trip_on_a_real_device(tmp_path: Path) -> None:
    torch.cuda.manual_seed(4)
    expected, restored = save_and_restore(tmp_path, "cuda")
    assert restored == expected
