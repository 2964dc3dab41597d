from pathlib import Path

import pytest
import torch
from torch import nn

from semifer.checkpoint import save_tensors
from semifer.errors import CheckpointError
from semifer.models.temporal import EncoderConfig, TemporalEncoder, load_temporal_model, model_description
from semifer.temporal.clips import clip_starts
from semifer.temporal.inference import video_logits
from semifer.temporal.trainer import masked_cross_entropy

SMALL = EncoderConfig(width=32, layers=2, heads=4, feedforward=64, dropout=0.0, max_length=16)


@pytest.mark.parametrize("positional", ["sinusoidal", "learned", "none"])
def test_masked_frames_change_neither_loss_nor_other_outputs(positional: str) -> None:
    torch.manual_seed(0)
    model = TemporalEncoder(8, EncoderConfig(**{**SMALL.__dict__, "positional": positional})).eval()
    features = torch.randn(2, 16, 8)
    mask = torch.rand(2, 16) > 0.3
    mask[:, 0] = False
    targets = torch.randint(0, 8, (2, 16))
    targets[~mask] = -1
    perturbed = features.clone()
    perturbed[~mask] = torch.randn(int((~mask).sum()), 8) * 100
    logits, logits_perturbed = model(features, mask), model(perturbed, mask)
    torch.testing.assert_close(logits, logits_perturbed)
    torch.testing.assert_close(masked_cross_entropy(logits, targets), masked_cross_entropy(logits_perturbed, targets))
    # A visible frame does change the others: the check above can fail.
    changed = features.clone()
    changed[mask] = torch.randn(int(mask.sum()), 8)
    assert not torch.allclose(model(changed, mask)[mask], logits[mask])


def test_loss_of_a_clip_without_targets_is_zero_and_all_masked_clip_is_finite() -> None:
    model = TemporalEncoder(8, SMALL)
    logits = model(torch.randn(1, 5, 8), torch.zeros(1, 5, dtype=torch.bool))
    assert torch.isfinite(logits).all()
    assert masked_cross_entropy(logits, torch.full((1, 5), -1)).item() == 0.0


class FrameIdentity(nn.Module):
    """Per-frame 'logits' equal to the frame's features: averaging overlaps must give them back."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return features * self.scale


@pytest.mark.parametrize("frames", [1, 7, 16, 17, 50, 333])
@pytest.mark.parametrize("stride", [1, 5, 16])
def test_clip_tiler_covers_every_frame_and_averaging_returns_each_frame_once(frames: int, stride: int) -> None:
    starts = clip_starts(frames, 16, stride)
    covered = torch.zeros(frames)
    length = min(16, frames)
    for start in starts.tolist():
        assert 0 <= start <= frames - length
        covered[start : start + length] += 1
    assert (covered > 0).all()
    features = torch.randn(frames, 3)
    output = video_logits(FrameIdentity(), features, torch.ones(frames, dtype=torch.bool), 16, stride, batch_size=4)
    torch.testing.assert_close(output, features)


def test_video_logits_of_a_long_video_with_the_real_encoder() -> None:
    model = TemporalEncoder(8, SMALL).eval()
    output = video_logits(model, torch.randn(5000, 8), torch.rand(5000) > 0.2, 16, 8, batch_size=256)
    assert output.shape == (5000, 8) and torch.isfinite(output).all()
    with pytest.raises(ValueError, match="empty"):
        video_logits(model, torch.zeros(0, 8), torch.zeros(0, dtype=torch.bool), 16, 8)


def test_load_temporal_model_round_trip_and_errors(tmp_path: Path) -> None:
    model = TemporalEncoder(8, SMALL).eval()
    (tmp_path / "model.json").write_text(__import__("json").dumps(model_description(8, SMALL, 16, 8, {"checkpoint": "x", "checkpoint_digest": "d"})))
    save_tensors(tmp_path / "temporal.safetensors", model.state_dict())
    loaded, description = load_temporal_model(tmp_path)
    features, mask = torch.randn(1, 16, 8), torch.ones(1, 16, dtype=torch.bool)
    torch.testing.assert_close(loaded(features, mask), model(features, mask))
    assert description["clip_length"] == 16 and description["spatial_checkpoint_digest"] == "d"
    with pytest.raises(CheckpointError, match="no model.json"):
        load_temporal_model(tmp_path / "missing")
    save_tensors(tmp_path / "temporal.safetensors", TemporalEncoder(4, SMALL).state_dict())
    with pytest.raises(CheckpointError, match="does not match"):
        load_temporal_model(tmp_path)
