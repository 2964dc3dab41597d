"""A stage-2 checkpoint predicts on its own: it carries the frame encoder, margin included."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd
from inference_helpers import make_stage2_checkpoint, run_cli

from semifer import Recognizer
from semifer.config import load_config
from semifer.models.frame_encoder import FrameEncoder
from semifer.temporal.config import TemporalConfig
from semifer.temporal.trainer import train_temporal

sys.path.insert(0, str(Path(__file__).parents[1] / "temporal"))

from temporal_fixtures import write_fake_cache  # noqa: E402

SMALL = ["encoder.width=32", "encoder.heads=2", "encoder.feedforward=64", "encoder.layers=1", "clip_length=16",
         "stride=8", "inference_stride=8", "batch_size=8", "warmup_steps=5", "log_every=5", "epochs=1"]


def test_a_trained_stage2_checkpoint_copied_alone_predicts_the_same_labels(checkpoints, face_video, tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    stage1 = shutil.copytree(checkpoints["stage1"], tmp_path / "spatial")
    encoder = FrameEncoder.from_stage1(stage1)
    cache = tmp_path / "cache"
    for split, videos in (("train", {"v1": 160, "v2": 80}), ("validation", {"w1": 60})):
        dim, digest = encoder.spec.feature_dim, encoder.stage1["digest"]
        write_fake_cache(cache, videos, feature_dim=dim, split=split, digest=digest, checkpoint=stage1)
    overrides = [f"features={cache}", f"run_dir={tmp_path / 'run'}", *SMALL]
    run = train_temporal(load_config(TemporalConfig, None, overrides), progress=False)

    def predict(checkpoint: Path, out: Path) -> pd.DataFrame:
        status, _, stderr = run_cli(["predict", str(checkpoint), str(face_video), "--out", str(out)], monkeypatch, capsys)
        assert status == 0, stderr
        return pd.read_csv(out / "face.csv")

    in_place = predict(run / "best", tmp_path / "in-place")
    alone = shutil.copytree(run / "best", tmp_path / "elsewhere" / "checkpoint")
    shutil.rmtree(run)
    shutil.rmtree(stage1)  # neither the run nor the stage-1 checkpoint is left
    shutil.rmtree(cache)
    copied = predict(alone, tmp_path / "copied")
    assert (~copied["no_face"]).sum() == 37  # the face was found and labeled in every frame that shows it
    pd.testing.assert_frame_equal(copied, in_place)


def test_the_margin_is_the_encoders_unless_overridden(checkpoints, tmp_path) -> None:  # type: ignore[no-untyped-def]
    stage2 = make_stage2_checkpoint(tmp_path / "temporal", checkpoints["stage1"])
    assert Recognizer.from_checkpoint(stage2).margin == 1.3  # the default: Aff-Wild2's framing
    FrameEncoder.load(stage2).with_margin(1.6).save(stage2)
    assert FrameEncoder.load(stage2).spec.margin == 1.6
    assert Recognizer.from_checkpoint(stage2).margin == 1.6
    assert Recognizer.from_checkpoint(stage2, margin=1.1).margin == 1.1
