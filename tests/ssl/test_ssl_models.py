"""Backbone factory, frame model round trip, and the eval / weak / strong transforms."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from semifer.checkpoint import save_tensors
from semifer.data.transforms import WeakStrongViews, eval_transform, resize_for
from semifer.errors import CheckpointError, ConfigError
from semifer.models.backbone import FrameModelSpec, create_backbone, frame_features, load_frame_model


def test_unknown_backbone_lists_close_matches() -> None:
    with pytest.raises(ConfigError, match="resnet50") as caught:
        create_backbone("resnet5O", 8)
    assert "resnet5O" in str(caught.value)


def test_frame_model_round_trip(tmp_path: Path) -> None:
    model = create_backbone("test_resnet", 8)
    spec = FrameModelSpec.for_model(model, "test_resnet", 32, resize_for(32))
    spec.save(tmp_path)
    save_tensors(tmp_path / "student.safetensors", model.state_dict())
    loaded, loaded_spec = load_frame_model(tmp_path)
    assert loaded_spec == spec and not loaded.training
    images = torch.randn(2, 3, 32, 32)
    features = frame_features(loaded, images)
    assert features.shape == (2, spec.feature_dim)
    model.eval()
    assert torch.allclose(loaded(images), model(images))
    with pytest.raises(CheckpointError, match="teacher.safetensors"):
        load_frame_model(tmp_path, "teacher")
    wrong = create_backbone("test_resnet", 3)
    save_tensors(tmp_path / "student.safetensors", wrong.state_dict())
    with pytest.raises(CheckpointError, match="does not fit"):
        load_frame_model(tmp_path)


def test_stage_widths_are_built_recorded_and_rebuilt(tmp_path: Path) -> None:
    model = create_backbone("resnet10t", 8, channels=[16, 32, 64, 48])
    assert [block[-1].conv2.out_channels for block in (model.layer1, model.layer2, model.layer3, model.layer4)] == [16, 32, 64, 48]
    spec = FrameModelSpec.for_model(model, "resnet10t", 32, resize_for(32), [16, 32, 64, 48])
    assert spec.feature_dim == 48 and spec.channels == (16, 32, 64, 48)
    spec.save(tmp_path)
    save_tensors(tmp_path / "student.safetensors", model.state_dict())
    loaded, loaded_spec = load_frame_model(tmp_path)
    assert loaded_spec == spec
    images = torch.randn(2, 3, 32, 32)
    assert torch.allclose(loaded(images), model.eval()(images))


def test_a_model_json_without_widths_rebuilds_the_architectures_own(tmp_path: Path) -> None:
    model = create_backbone("test_resnet", 8)
    spec = FrameModelSpec.for_model(model, "test_resnet", 32, resize_for(32))
    raw = json.loads(spec.to_json())
    del raw["channels"]  # a checkpoint written before stage widths were recorded
    (tmp_path / "model.json").write_text(json.dumps(raw))
    save_tensors(tmp_path / "student.safetensors", model.state_dict())
    assert load_frame_model(tmp_path)[1] == spec
    raw["channels"] = [8, 16, "x", 64]  # a damaged record names its file, not a Python error
    (tmp_path / "model.json").write_text(json.dumps(raw))
    with pytest.raises(CheckpointError, match="model.json.*four positive whole numbers"):
        load_frame_model(tmp_path)


@pytest.mark.parametrize(
    ("backbone", "channels", "pretrained", "message"),
    [
        ("resnet10t", [64, 128, 256], False, "four positive whole numbers"),  # timm would drop the last stage
        ("resnet10t", [64, 128, 0, 256], False, "four positive whole numbers"),
        ("resnet10t", [64, 128, "256", 256], False, "four positive whole numbers"),
        ("resnet10t", [64, 128, 256, 256], True, "pretrained weights would not fit"),
        ("mobilenetv3_small_100", [16, 24, 40, 96], False, "timm ResNets"),
    ],
)
def test_stage_widths_that_cannot_be_built_are_refused(backbone: str, channels: list[int], pretrained: bool, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        create_backbone(backbone, 8, pretrained, channels)


def test_transforms_shapes_and_views_differ() -> None:
    spec = FrameModelSpec("test_resnet", 8, 32, resize_for(32), (0.5,) * 3, (0.5,) * 3, 64)
    image = np.random.default_rng(0).integers(0, 255, (50, 40, 3), dtype=np.uint8)
    evaluated = eval_transform(spec)(image)
    assert evaluated.shape == (3, 32, 32) and evaluated.dtype == torch.float32
    assert torch.equal(evaluated, eval_transform(spec)(image))
    torch.manual_seed(0)
    weak, strong = WeakStrongViews(spec)(image)
    assert weak.shape == strong.shape == (3, 32, 32) and not torch.equal(weak, strong)
    assert resize_for(224) == 256
