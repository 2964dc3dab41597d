"""``FrameEncoder``: the one feature maker, saved with a digest of its weights and loaded back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from inference_helpers import make_stage1_checkpoint

from semifer.checkpoint import save_tensors
from semifer.data.transforms import eval_transform
from semifer.errors import CheckpointError
from semifer.models.backbone import DEFAULT_MARGIN, create_backbone
from semifer.models.frame_encoder import FrameEncoder


def test_save_load_round_trip_gives_the_same_features(checkpoints, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    encoder = FrameEncoder.from_stage1(checkpoints["stage1"])
    encoder.save(tmp_path)
    loaded = FrameEncoder.load(tmp_path)
    assert loaded.spec == encoder.spec and loaded.stage1 == encoder.stage1
    assert loaded.stage1["digest"] and not loaded.train().training  # frozen whatever a caller asks
    image = np.random.default_rng(0).integers(0, 255, (112, 112, 3), dtype=np.uint8)
    pixels = loaded.preprocess(image)
    torch.testing.assert_close(pixels, eval_transform(encoder.spec)(image))
    features, logits = loaded.encode(loaded.resize_crop(image)[None])
    expected_features, expected_logits = encoder.encode(encoder.resize_crop(image)[None])
    assert features.shape == (1, encoder.spec.feature_dim) and logits.shape == (1, 8)
    assert torch.equal(features, expected_features) and torch.equal(logits, expected_logits)


def test_changed_weights_and_corrupt_description_name_the_file(checkpoints, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    FrameEncoder.from_stage1(checkpoints["stage1"]).save(tmp_path)
    torch.manual_seed(3)
    save_tensors(tmp_path / "frame_encoder.safetensors", create_backbone("test_resnet", 8).state_dict())
    with pytest.raises(CheckpointError, match=r"frame_encoder\.safetensors: digest mismatch"):
        FrameEncoder.load(tmp_path)
    (tmp_path / "frame_encoder.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"corrupt .*frame_encoder\.json"):
        FrameEncoder.load(tmp_path)
    with pytest.raises(CheckpointError, match="no frame_encoder.json"):
        FrameEncoder.load(tmp_path / "missing")


def test_a_stage1_spec_without_a_margin_gets_the_default(tmp_path: Path) -> None:
    folder = make_stage1_checkpoint(tmp_path / "old")
    spec = json.loads((folder / "model.json").read_text())
    del spec["margin"]
    (folder / "model.json").write_text(json.dumps(spec))
    encoder = FrameEncoder.from_stage1(folder)
    assert encoder.spec.margin == DEFAULT_MARGIN == 1.3
    assert encoder.with_margin(1.6).spec.margin == 1.6 and encoder.spec.margin == 1.3
    (folder / "model.json").write_text(json.dumps({**spec, "margin": 0}))
    with pytest.raises(CheckpointError, match="margin must be positive"):
        FrameEncoder.from_stage1(folder)
