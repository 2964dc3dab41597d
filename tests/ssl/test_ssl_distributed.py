"""Two CPU processes under torchrun (gloo): same teacher update on every rank, shared validation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from semifer.data.transforms import eval_transform
from semifer.models.backbone import load_frame_model
from semifer.ssl.evaluate import evaluate, validation_items

from ssl_helpers import spatial_data

WORKER = Path(__file__).parent / "ddp_worker.py"


@pytest.mark.parametrize("feedback", ["exact", "taylor"])
def test_two_process_run_keeps_ranks_identical(tmp_path: Path, feedback: str) -> None:
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        str(WORKER), str(tmp_path), feedback,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "run" / "checkpoints" / "step-00000003" / "teacher.safetensors").is_file()
    feedback0 = json.loads((tmp_path / "feedback-rank0.json").read_text())
    feedback1 = json.loads((tmp_path / "feedback-rank1.json").read_text())
    assert len(feedback0) == 3 and feedback0 == feedback1  # f all-reduced: one value for all ranks
    for name in ("teacher", "student"):
        rank0 = load_file(tmp_path / f"{name}-rank0.safetensors")
        rank1 = load_file(tmp_path / f"{name}-rank1.safetensors")
        assert rank0.keys() == rank1.keys()
        # BatchNorm running statistics are each rank's own until DDP broadcasts rank 0's at
        # the next forward; every learned weight must be bit-identical.
        weights = [k for k in rank0 if "running_" not in k and "num_batches" not in k]
        assert len(weights) > 10
        assert all(torch.equal(rank0[k], rank1[k]) for k in weights), name

    # Validation: each rank predicted its half of the frames (for both networks), and the
    # summed confusion counts give every rank the F1 that one process gets on all frames.
    data = spatial_data()
    items = validation_items(data.validation, 0)
    ranks = [json.loads((tmp_path / f"validation-rank{rank}.json").read_text()) for rank in (0, 1)]
    assert [r["frames"] for r in ranks] == [len(items[0::2]) * 2, len(items[1::2]) * 2]
    assert ranks[0]["macro_f1"] == ranks[1]["macro_f1"]
    checkpoint = tmp_path / "run" / "checkpoints" / "step-00000003"
    for network, f1 in zip(("teacher", "student"), ranks[0]["macro_f1"]):
        model, spec = load_frame_model(checkpoint, network)
        alone, undecodable = evaluate(model, data.validation, items, eval_transform(spec), torch.device("cpu"))
        assert alone.macro_f1 == f1 and undecodable == 0, network
