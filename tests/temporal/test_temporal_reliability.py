"""Stage 2 against real kills, concurrent runs and a changed feature cache."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from semifer.errors import CheckpointError
from semifer.runs.folder import run_lock
from semifer.temporal.trainer import train_temporal

from temporal_fixtures import DIGEST, write_fake_cache
from temporal_worker import temporal_config

WORKER = Path(__file__).parent / "temporal_worker.py"
ENV = dict(os.environ)  # same thread count as this process: float sums, hence weights, depend on it


def worker(cache: Path, run: Path, action: str, *overrides: str) -> list[str]:
    return [sys.executable, str(WORKER), str(cache), str(run), action, *overrides]


def run_worker(cache: Path, run: Path, action: str, *overrides: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(worker(cache, run, action, *overrides), capture_output=True, text=True, timeout=180, env=ENV)


def killed(cache: Path, run: Path, action: str) -> None:
    result = run_worker(cache, run, action)
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]


def rows(run: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def same_tensors(a: Path, b: Path) -> bool:
    left, right = load_file(a), load_file(b)
    return left.keys() == right.keys() and all(torch.equal(left[k], right[k]) for k in left)


def hidden(run: Path) -> list[str]:
    return [p.name for folder in (run, run / "checkpoints") for p in folder.iterdir() if p.name.startswith(".") and p.is_dir()]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cache")
    write_fake_cache(folder, {"v1": 400, "v2": 300, "v3": 40}, split="train", seed=0)
    write_fake_cache(folder, {"w1": 120, "w2": 30}, split="validation", seed=0)
    return folder


@pytest.fixture(scope="module")
def uninterrupted(cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_temporal(temporal_config(cache, tmp_path_factory.mktemp("full") / "run"), progress=False)


def test_second_run_on_a_live_run_folder_is_refused(cache: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    holder = subprocess.Popen(worker(cache, run, "hold"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        deadline = time.monotonic() + 180
        while not Path(f"{run}.holding").exists():
            assert holder.poll() is None, holder.communicate()[1][-2000:]
            assert time.monotonic() < deadline
            time.sleep(0.2)
        second = run_worker(cache, run, "run")
        assert second.returncode == 2, second.stderr[-2000:]
        message = [line for line in second.stderr.splitlines() if "in use" in line]
        assert len(message) == 1 and str(run) in message[0]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate()
    with run_lock(run):  # the kernel dropped the dead holder's lock
        pass


def test_resume_onto_a_cache_of_another_stage1_checkpoint_is_refused(cache: Path, tmp_path: Path) -> None:
    run = train_temporal(temporal_config(cache, tmp_path / "run", "epochs=1"), progress=False)
    other = tmp_path / "other-cache"
    write_fake_cache(other, {"v1": 400, "v2": 300}, split="train", digest="b" * 64)
    write_fake_cache(other, {"w1": 120}, split="validation", digest="b" * 64)
    with pytest.raises(CheckpointError) as caught:
        train_temporal(temporal_config(other, run, "epochs=2"), progress=False)
    message = str(caught.value)
    assert "\n" not in message
    for part in (DIGEST[:12], "b" * 12, str(cache), str(other), str(run / "checkpoints")):
        assert part in message, part


def test_resume_of_a_run_killed_before_its_first_checkpoint_matches_uninterrupted(
    cache: Path, tmp_path: Path, uninterrupted: Path
) -> None:
    run = tmp_path / "run"
    killed(cache, run, "kill-step:11")  # rows at steps 5 and 10 logged, no checkpoint yet
    assert not (run / "checkpoints").exists() or not any((run / "checkpoints").iterdir())
    train_temporal(temporal_config(cache, run), progress=False)
    assert rows(run) == rows(uninterrupted)
    assert same_tensors(run / "best" / "temporal.safetensors", uninterrupted / "best" / "temporal.safetensors")


def test_resume_drops_rows_logged_after_the_checkpoint_and_half_written_folders(
    cache: Path, tmp_path: Path, uninterrupted: Path
) -> None:
    run = tmp_path / "run"
    killed(cache, run, "kill-step:23")  # in epoch 2, after the epoch-1 checkpoint (step 12)
    killed(cache, run, "kill-save:step:1")  # the resumed run logs epoch 2, then dies writing its checkpoint
    assert hidden(run)  # that checkpoint's staging folder, half written
    train_temporal(temporal_config(cache, run), progress=False)
    assert hidden(run) == []
    steps = [row["step"] for row in rows(run)]
    assert steps == sorted(steps) and rows(run) == rows(uninterrupted)
    final = "checkpoints/step-00000024/temporal.safetensors"
    assert same_tensors(run / final, uninterrupted / final)


def test_kill_between_epoch_checkpoint_and_best_never_leaves_best_stale(
    cache: Path, tmp_path: Path, uninterrupted: Path
) -> None:
    run = tmp_path / "run"
    killed(cache, run, "kill-save:best:2")  # epoch 2 improves on epoch 1: its best/ save dies
    train_temporal(temporal_config(cache, run), progress=False)
    best = json.loads((run / "best" / "state.json").read_text())
    latest = json.loads((run / "checkpoints" / "step-00000024" / "state.json").read_text())
    assert best["epoch"] == 2 and best["best_macro_f1"] == latest["best_macro_f1"]
    assert same_tensors(run / "best" / "temporal.safetensors", uninterrupted / "best" / "temporal.safetensors")


def test_a_run_folder_holding_checkpoints_is_refused_without_resume(cache: Path, uninterrupted: Path) -> None:
    from semifer.errors import ConfigError

    with pytest.raises(ConfigError, match="already holds checkpoints: pass resume=true"):
        train_temporal(temporal_config(cache, uninterrupted, "resume=false"), progress=False)
