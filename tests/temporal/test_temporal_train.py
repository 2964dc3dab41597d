import json
from pathlib import Path

import numpy as np
import pytest

from semifer.abaw.submission import read_submission, write_submission
from semifer.config import load_config
from semifer.temporal.ablation import ablation_from_caches
from semifer.temporal.config import TemporalConfig
from semifer.temporal.evaluate import predict_split
from semifer.temporal.trainer import train_temporal

from temporal_fixtures import DIGEST, write_fake_cache

SMALL = ["encoder.width=32", "encoder.heads=2", "encoder.feedforward=64", "encoder.layers=1", "clip_length=16",
         "stride=8", "inference_stride=8", "batch_size=8", "warmup_steps=5", "log_every=5", "lr=3e-3", "encoder.dropout=0.0"]


def config(cache: Path, run: Path, *extra: str) -> TemporalConfig:
    return load_config(TemporalConfig, None, [f"features={cache}", f"run_dir={run}", *SMALL, *extra])


def test_training_learns_keeps_best_and_resumes(fake_cache: Path, tmp_path: Path) -> None:
    run = train_temporal(config(fake_cache, tmp_path / "run", "epochs=2", "sampling=balanced"), progress=False)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    scores = [r["val_macro_f1"] for r in records if "val_macro_f1" in r]
    assert len(scores) == 2 and (run / "best" / "temporal.safetensors").is_file()
    assert any("loss" in r for r in records)
    state = json.loads((run / "best" / "state.json").read_text())
    assert state["best_macro_f1"] == pytest.approx(max(scores))
    model_json = json.loads((run / "best" / "model.json").read_text())
    assert model_json["spatial_checkpoint_digest"] == DIGEST and model_json["clip_length"] == 16
    for folder in (run / "best", *(run / "checkpoints").iterdir()):  # each carries the stage-1 network of the cache
        encoder_json = json.loads((folder / "frame_encoder.json").read_text())
        assert encoder_json["stage1"]["digest"] == DIGEST and (folder / "frame_encoder.safetensors").is_file()
    # Resume: epochs=3 continues from the epoch-2 checkpoint, so exactly one more validation.
    train_temporal(config(fake_cache, tmp_path / "run", "epochs=3", "sampling=balanced", "resume=true"), progress=False)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records if "val_macro_f1" in r] == [1, 2, 3]
    # The features separate the classes: the encoder must beat chance (1/8) clearly.
    assert max(r["val_macro_f1"] for r in records if "val_macro_f1" in r) > 0.2


def test_predict_submit_and_ablation_on_a_trained_model(fake_cache: Path, tmp_path: Path) -> None:
    run = train_temporal(config(fake_cache, tmp_path / "run", "epochs=1"), progress=False)
    labels = predict_split(run / "best", fake_cache, "validation", "window", 30)
    assert {name: len(v) for name, v in labels.items()} == {"w1": 120, "w2": 30}
    path = write_submission(tmp_path / "sub.txt", labels)
    assert read_submission(path)["w1"].tolist() == labels["w1"].tolist()
    assert all(len(set(v[:30].tolist())) == 1 for v in labels.values())  # window vote applied
    stage1 = tmp_path / "stage1"
    stage1.mkdir()
    (stage1 / "student.safetensors").write_bytes(b"not the checkpoint of this cache")
    from semifer.errors import CheckpointError

    with pytest.raises(CheckpointError, match="cache was written by checkpoint"):
        ablation_from_caches(None, None, stage1, fake_cache, run / "best")
    other = tmp_path / "other-cache"
    write_fake_cache(other, {"w1": 120, "w2": 30}, split="validation", digest="b" * 64)
    with pytest.raises(CheckpointError, match="expected"):
        predict_split(run / "best", other, "validation")


def test_ablation_rows_from_caches(fake_cache: Path, tmp_path: Path) -> None:
    run = train_temporal(config(fake_cache, tmp_path / "run", "epochs=1"), progress=False)
    stage1 = fake_cache / "stage1"  # the checkpoint that wrote the cache
    ablation = ablation_from_caches(stage1, fake_cache, stage1, fake_cache, run / "best")
    names = [row.name for row in ablation.rows]
    assert names[:3] == ["supervised (per frame)", "SSL (per frame)", "SSL + temporal"] and len(names) == 4
    assert all(0.0 <= row.report.macro_f1 <= 1.0 and row.report.frames > 0 for row in ablation.rows)
    assert "| SSL + temporal |" in ablation.markdown()
    assert np.isclose(ablation.rows[0].report.macro_f1, ablation.rows[1].report.macro_f1)


def test_training_refuses_a_stage1_checkpoint_changed_since_extraction(fake_cache: Path, tmp_path: Path) -> None:
    from semifer.checkpoint import save_tensors
    from semifer.errors import CheckpointError
    from semifer.models.backbone import create_backbone

    stage1 = fake_cache / "stage1"
    save_tensors(stage1 / "student.safetensors", create_backbone("test_resnet", 8).state_dict())  # retrained since
    with pytest.raises(CheckpointError) as caught:
        train_temporal(config(fake_cache, tmp_path / "run", "epochs=1"), progress=False)
    message = str(caught.value)
    assert "\n" not in message and str(stage1) in message and str(fake_cache / "cache.json") in message
    assert DIGEST[:12] in message and "changed since" in message
