"""Stage 2 under torchrun with two CPU processes (gloo): one model, the clips split between ranks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from temporal_fixtures import write_fake_cache

WORKER = Path(__file__).parent / "temporal_ddp_worker.py"


def test_two_process_stage2_keeps_ranks_identical_and_splits_the_clips(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    write_fake_cache(cache, {"v1": 400, "v2": 300, "v3": 40}, split="train", seed=0)
    write_fake_cache(cache, {"w1": 120, "w2": 30}, split="validation", seed=0)
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        str(WORKER), str(cache), str(tmp_path / "run"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    rank0, rank1 = load_file(tmp_path / "rank0.safetensors"), load_file(tmp_path / "rank1.safetensors")
    assert rank0.keys() == rank1.keys() and all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    clips0 = json.loads((tmp_path / "clips-rank0.json").read_text())
    clips1 = json.loads((tmp_path / "clips-rank1.json").read_text())
    assert clips0 == clips1 and clips0["batches"] == clips0["steps"]  # the same number of steps on each rank
    checkpoints = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert checkpoints[-1] == f"step-{2 * clips0['steps']:08d}"  # 2 epochs of half the clips each
    assert (tmp_path / "run" / "best" / "frame_encoder.safetensors").is_file()
