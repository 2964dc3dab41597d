"""Stage 1 against real kills and concurrent runs: each run is a process of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from semifer.ssl.loop import train_spatial

from ssl_helpers import spatial_config, spatial_data

WORKER = Path(__file__).parent / "spatial_worker.py"
ENV = dict(os.environ)  # same thread count as this process: float sums, hence weights, depend on it


def worker(out: Path, action: str, *overrides: str) -> list[str]:
    return [sys.executable, str(WORKER), str(out), action, *overrides]


def run_worker(out: Path, action: str, *overrides: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(worker(out, action, *overrides), capture_output=True, text=True, timeout=180, env=ENV)


def wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 180
    while not path.exists():
        assert process.poll() is None, process.communicate()[1][-2000:]
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.2)


def test_second_run_on_a_live_run_folder_is_refused(tmp_path: Path) -> None:
    holder = subprocess.Popen(worker(tmp_path, "hold"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        wait_for(tmp_path / "holding", holder)
        second = run_worker(tmp_path, "run")
        assert second.returncode == 2, second.stderr[-2000:]
        message = [line for line in second.stderr.splitlines() if "in use" in line]
        assert len(message) == 1 and str(tmp_path / "run") in message[0]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate()
    # The kernel dropped the dead holder's lock: resuming takes the folder at once.
    train_spatial(spatial_config(tmp_path, resume="true"), progress=False, data=spatial_data())
    assert (tmp_path / "run" / "checkpoints" / "step-00000004" / "state.json").is_file()


def hidden(run: Path) -> list[str]:
    return [p.name for folder in (run, run / "checkpoints") for p in folder.iterdir() if p.name.startswith(".") and p.is_dir()]


def same_weights(a: Path, b: Path) -> bool:
    left, right = load_file(a / "student.safetensors"), load_file(b / "student.safetensors")
    return left.keys() == right.keys() and all(torch.equal(left[k], right[k]) for k in left)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_spatial(spatial_config(tmp_path_factory.mktemp("full")), progress=False, data=spatial_data())


def test_resume_of_a_run_killed_before_its_first_checkpoint_starts_from_step_0(tmp_path: Path, uninterrupted: Path) -> None:
    killed = run_worker(tmp_path, "kill-step:1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert (tmp_path / "run" / "config.yaml").is_file()
    resumed = train_spatial(spatial_config(tmp_path, resume="true"), progress=False, data=spatial_data())
    assert same_weights(uninterrupted / "checkpoints" / "step-00000004", resumed / "checkpoints" / "step-00000004")


def test_resume_removes_half_written_checkpoint_folders(tmp_path: Path, uninterrupted: Path) -> None:
    killed = run_worker(tmp_path, "kill-save:step:2")  # inside the step-4 checkpoint's write
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    run = tmp_path / "run"
    assert hidden(run)
    resumed = train_spatial(spatial_config(tmp_path, resume="true"), progress=False, data=spatial_data())
    assert hidden(run) == []
    assert same_weights(uninterrupted / "checkpoints" / "step-00000004", resumed / "checkpoints" / "step-00000004")
