"""Stage-2 temporal encoder: a transformer along time over frozen per-frame features.

Frames without a face image have no feature. They are replaced by a learned "missing" token
and removed from attention through the key padding mask, so no other frame can see them
and their own (meaningless) input never reaches any output: the loss masks them too.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from semifer.checkpoint import load_tensors, read_json
from semifer.errors import CheckpointError
from semifer.labels import NUM_CLASSES

POSITIONAL_ENCODINGS = ("sinusoidal", "learned", "none")
MODEL_FILE = "model.json"
WEIGHTS_FILE = "temporal.safetensors"


@dataclass
class EncoderConfig:
    """Hyper-parameters of the temporal encoder (saved in each checkpoint's ``model.json``)."""

    width: int = 256
    layers: int = 2
    heads: int = 4
    feedforward: int = 512
    dropout: float = 0.1
    positional: str = "sinusoidal"
    max_length: int = 64


def sinusoidal_table(length: int, width: int) -> Tensor:
    """The fixed sine/cosine position table of "Attention is all you need", ``(length, width)``."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
    table = torch.zeros(length, width)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: width // 2])
    return table


class TemporalEncoder(nn.Module):
    """Per-frame logits from a clip of per-frame features."""

    def __init__(self, feature_dim: int, config: EncoderConfig, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        if config.positional not in POSITIONAL_ENCODINGS:
            raise ValueError(f"positional must be one of {POSITIONAL_ENCODINGS}, got {config.positional!r}")
        if config.width % config.heads:
            raise ValueError(f"width {config.width} is not divisible by heads {config.heads}")
        self.feature_dim = feature_dim
        self.config = config
        self.input = nn.Sequential(nn.LayerNorm(feature_dim), nn.Linear(feature_dim, config.width))
        self.missing = nn.Parameter(torch.zeros(config.width))
        if config.positional == "learned":
            self.position = nn.Parameter(torch.zeros(config.max_length, config.width))
            nn.init.normal_(self.position, std=0.02)
        else:
            table = sinusoidal_table(config.max_length, config.width)
            self.register_buffer("position", table if config.positional == "sinusoidal" else torch.zeros_like(table), persistent=False)
        layer = nn.TransformerEncoderLayer(
            config.width, config.heads, config.feedforward, config.dropout, batch_first=True, norm_first=True
        )
        # No nested-tensor fast path: it zeroes padded positions in eval only, so train and
        # eval outputs would differ at masked frames.
        self.encoder = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(config.width)
        self.classifier = nn.Linear(config.width, num_classes)

    def forward(self, features: Tensor, mask: Tensor) -> Tensor:
        """``features`` (batch, frames, feature_dim), ``mask`` (batch, frames) True = has feature -> logits (batch, frames, classes)."""
        frames = features.shape[1]
        if frames > self.config.max_length:
            raise ValueError(f"clip of {frames} frames is longer than the encoder's max_length {self.config.max_length}")
        mask = mask.bool()
        tokens = self.input(features.float())  # (batch, frames, width)
        tokens = torch.where(mask[..., None], tokens, self.missing.to(tokens.dtype))
        tokens = tokens + self.position[:frames]
        # A clip with no face at all would leave attention nothing to attend to (NaN): let such
        # clips attend to their missing tokens; their frames carry no loss anyway.
        padding = ~mask & mask.any(dim=1, keepdim=True)
        hidden = self.encoder(tokens, src_key_padding_mask=padding)  # (batch, frames, width)
        return self.classifier(self.norm(hidden))


def model_description(feature_dim: int, config: EncoderConfig, clip_length: int, stride: int, spatial: dict[str, Any]) -> dict[str, Any]:
    """What ``model.json`` holds: enough to rebuild the encoder, and the stage-1 checkpoint (path and
    student digest) whose cached features it was trained on, which the feature cache is checked against.
    The frame encoder itself travels in the same folder (``semifer.models.frame_encoder``)."""
    return {
        "encoder": asdict(config),
        "feature_dim": feature_dim,
        "num_classes": NUM_CLASSES,
        "clip_length": clip_length,
        "stride": stride,
        "spatial_checkpoint": spatial.get("checkpoint"),
        "spatial_checkpoint_digest": spatial.get("checkpoint_digest"),
    }


def load_temporal_model(folder: Path) -> tuple[TemporalEncoder, dict[str, Any]]:
    """Rebuild a trained encoder (eval mode) and its ``model.json`` from a stage-2 checkpoint folder."""
    folder = Path(folder)
    description = read_json(folder, MODEL_FILE, "temporal checkpoint")
    try:
        config = EncoderConfig(**description["encoder"])
        model = TemporalEncoder(int(description["feature_dim"]), config, int(description.get("num_classes", NUM_CLASSES)))
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"invalid {folder / MODEL_FILE}: {error}") from None
    state = load_tensors(folder / WEIGHTS_FILE)
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise CheckpointError(f"{folder / WEIGHTS_FILE} does not match {folder / MODEL_FILE}: {str(error).splitlines()[0]}") from None
    return model.eval(), description
