"""timm backbones by name, and the frame model that stage 1 hands to stage 2 and inference.

Every stage-1 checkpoint folder carries a ``model.json`` (``FrameModelSpec``) next to the
weights, so a later stage rebuilds the network and its preprocessing from the folder alone;
``semifer.models.frame_encoder.FrameEncoder`` wraps the two into the one feature maker.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import timm
import torch
from torch import nn

from semifer.checkpoint import atomic_write_text, load_tensors, read_json
from semifer.errors import CheckpointError, ConfigError

MODEL_FILE = "model.json"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Aff-Wild2's cropped_aligned faces are about 1.3 detector-box sides wide (a Haar box runs from
# the brows to the mouth): the framing a spec without a recorded margin stands for.
DEFAULT_MARGIN = 1.3


def create_backbone(name: str, num_classes: int, pretrained: bool = False, channels: Sequence[int] = ()) -> nn.Module:
    """A timm model by name with a ``num_classes`` head.

    ``pretrained=True`` may download weights; nothing in semifer requires it. ``channels``
    replaces the widths of a ResNet's four stages (timm's ``channels``; empty keeps the
    architecture's): on a few CPU cores the last stage of a small ResNet, a 3x3 convolution on
    a 2x2 map at the demo's 48 px, costs more than all the others (benchmarks/conv_layers.py).
    """
    if not timm.is_model(name):
        close = difflib.get_close_matches(name, timm.list_models(), n=5, cutoff=0.6)
        hint = f"; close matches: {', '.join(close)}" if close else ""
        raise ConfigError(f"unknown timm backbone {name!r}{hint}")
    if not channels:
        return timm.create_model(name, pretrained=pretrained, num_classes=num_classes)
    widths = tuple(channels)
    if len(widths) != 4 or not all(type(width) is int and width > 0 for width in widths):
        raise ConfigError(f"model.channels must be four positive whole numbers (one per ResNet stage), got {list(widths)}")
    if pretrained:
        raise ConfigError("model.channels changes the architecture, so pretrained weights would not fit it")
    try:
        return timm.create_model(name, num_classes=num_classes, channels=widths)
    except TypeError:
        raise ConfigError(f"backbone {name!r} has no stage widths to set: model.channels is for timm ResNets") from None


@dataclass
class FrameModelSpec:
    """What a later stage needs to rebuild a stage-1 network and feed it images.

    ``margin`` is how the training faces were framed: crop side over detector-box side, so
    that ``predict`` cuts faces out of whole frames the same way (``semifer.inference.align``).
    """

    backbone: str
    num_classes: int
    image_size: int
    resize_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    feature_dim: int
    margin: float = DEFAULT_MARGIN
    channels: tuple[int, ...] = ()  # ResNet stage widths when not the architecture's own

    @classmethod
    def for_model(
        cls, model: nn.Module, backbone: str, image_size: int, resize_size: int, channels: Sequence[int] = ()
    ) -> "FrameModelSpec":
        """Read normalisation and feature size off a timm model (ImageNet defaults if absent)."""
        cfg = getattr(model, "pretrained_cfg", None) or {}
        return cls(
            backbone=backbone,
            num_classes=int(model.num_classes),
            image_size=image_size,
            resize_size=resize_size,
            mean=tuple(float(v) for v in cfg.get("mean", IMAGENET_MEAN)),  # type: ignore[arg-type]
            std=tuple(float(v) for v in cfg.get("std", IMAGENET_STD)),  # type: ignore[arg-type]
            feature_dim=int(model.num_features),
            channels=tuple(int(width) for width in channels),
        )

    def to_json(self) -> str:
        """The ``model.json`` text a stage-1 checkpoint folder carries."""
        return json.dumps(asdict(self), indent=2)

    def save(self, folder: Path) -> None:
        atomic_write_text(Path(folder) / MODEL_FILE, self.to_json())

    @classmethod
    def from_dict(cls, raw: Any, path: Path) -> "FrameModelSpec":
        """A spec from its JSON form; ``path`` (the file it was read from) names any error."""
        try:
            tuples = {"mean": tuple(raw["mean"]), "std": tuple(raw["std"]), "channels": tuple(raw.get("channels", ()))}
            spec = cls(**{**raw, **tuples})
            positive = float(spec.margin) > 0
        except (TypeError, KeyError, ValueError) as error:
            raise CheckpointError(f"corrupt {path}: {error}") from None
        if not positive:
            raise CheckpointError(f"{path}: margin must be positive, got {spec.margin}")
        return spec

    @classmethod
    def load(cls, folder: Path) -> "FrameModelSpec":
        return cls.from_dict(read_json(folder, MODEL_FILE, "stage-1 checkpoint"), folder / MODEL_FILE)


def build_frame_model(spec: FrameModelSpec, weights: dict[str, torch.Tensor], spec_path: Path, weights_path: Path) -> nn.Module:
    """``spec``'s network holding ``weights``, in eval mode; errors name the file at fault."""
    try:
        model = create_backbone(spec.backbone, spec.num_classes, channels=spec.channels)
    except ConfigError as error:
        raise CheckpointError(f"{spec_path}: {error}") from None
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as error:
        first = str(error).strip().splitlines()[0]
        raise CheckpointError(f"{weights_path} does not fit {spec.backbone}: {first}") from None
    return model.eval()


def load_frame_model(folder: Path, network: str = "student") -> tuple[nn.Module, FrameModelSpec]:
    """Rebuild one network of a stage-1 checkpoint folder, in eval mode."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"stage-1 checkpoint folder not found: {folder}")
    spec = FrameModelSpec.load(folder)
    weights_path = folder / f"{network}.safetensors"
    return build_frame_model(spec, load_tensors(weights_path), folder / MODEL_FILE, weights_path), spec


def frame_features(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Pooled pre-logit features ``(batch, feature_dim)``: what stage 2 consumes per frame."""
    return model.forward_head(model.forward_features(images), pre_logits=True)
