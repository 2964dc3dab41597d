"""Checkpoint folders survive a SIGKILL at any point of their replacement."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from semifer.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint, step_folder, tidy_run_folder

# The child saves ``best`` once, then dies by SIGKILL inside the second save, at the call
# named by argv[2]: right before the new folder is renamed into place, or right after.
CHILD = """
import os, signal, sys
from pathlib import Path
import torch
import semifer.checkpoint as checkpoint

folder, point = Path(sys.argv[1]), sys.argv[2]
checkpoint.save_checkpoint(folder, {"model": {"w": torch.zeros(3)}}, {"version": 1})
real_replace, real_rmtree = os.replace, checkpoint.shutil.rmtree

def replace(source, target):
    if Path(target) == folder and point == "before-rename":
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(source, target)
    if Path(target) == folder and point == "after-rename":
        os.kill(os.getpid(), signal.SIGKILL)

checkpoint.os.replace = replace
checkpoint.save_checkpoint(folder, {"model": {"w": torch.ones(3)}}, {"version": 2})
"""


@pytest.mark.parametrize(("point", "version"), [("before-rename", 1), ("after-rename", 2)])
def test_kill_while_replacing_best_keeps_a_loadable_best(tmp_path: Path, point: str, version: int) -> None:
    best = tmp_path / "run" / "best"
    result = subprocess.run([sys.executable, "-c", CHILD, str(best), point], capture_output=True, text=True, timeout=120)
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    tidy_run_folder(tmp_path / "run")
    tensors, state = load_checkpoint(best, ["model"])
    assert state["version"] == version
    assert torch.equal(tensors["model"]["w"], torch.full((3,), float(version - 1)))
    assert sorted(p.name for p in best.parent.iterdir()) == ["best"]


def test_tidy_removes_half_written_folders_and_keeps_whole_ones(tmp_path: Path) -> None:
    run = tmp_path / "run"
    root = run / "checkpoints"
    save_checkpoint(step_folder(root, 2), {"model": {"w": torch.zeros(1)}}, {"step": 2})
    for leftover in (root / ".step-00000004.k2j4_x9a.tmp", root / ".step-00000001.deleted", run / ".best.abcd0123.tmp"):
        leftover.mkdir(parents=True)
        (leftover / "model.safetensors").write_bytes(b"half")
    tidy_run_folder(run)
    assert sorted(p.name for p in root.iterdir()) == ["step-00000002"]
    assert sorted(p.name for p in run.iterdir()) == ["checkpoints"]


PRUNE_CHILD = """
import os, signal, sys
from pathlib import Path
import torch
import semifer.checkpoint as checkpoint

root = Path(sys.argv[1])
for step in (1, 2, 3):
    checkpoint.save_checkpoint(checkpoint.step_folder(root, step), {"model": {"w": torch.zeros(1)}}, {"step": step})

def rmtree(path, ignore_errors=False):
    (Path(path) / "model.safetensors").unlink()
    os.kill(os.getpid(), signal.SIGKILL)

checkpoint.shutil.rmtree = rmtree
checkpoint.prune_checkpoints(root, keep_last=1)
"""


def test_kill_while_pruning_never_leaves_a_half_deleted_checkpoint_visible(tmp_path: Path) -> None:
    root = tmp_path / "run" / "checkpoints"
    result = subprocess.run([sys.executable, "-c", PRUNE_CHILD, str(root)], capture_output=True, text=True, timeout=120)
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    for folder in list_checkpoints(root):
        load_checkpoint(folder, ["model"])
    tidy_run_folder(tmp_path / "run")
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []
