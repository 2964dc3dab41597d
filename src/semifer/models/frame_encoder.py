"""``FrameEncoder``: a frozen stage-1 network with its preprocessing, the one way features are made.

Feature extraction (the stage-2 cache), ``Recognizer`` and ONNX export all go through it, so a
face crop gives the same feature everywhere. The preprocessing is the stage-1 eval transform
(``semifer.data.transforms.eval_transform``) cut where the pixels turn float: the side that
decodes (DataLoader workers, the video thread) resizes and centre-crops uint8 images, the
model's device scales and normalises them, so four times fewer bytes travel to the model,
which sets the pace on a GPU.

A stage-2 checkpoint carries the encoder it was trained on as ``frame_encoder.safetensors``
(the backbone's weights) and ``frame_encoder.json`` (the ``FrameModelSpec``, a digest of the
weights checked on load, and the stage-1 checkpoint the weights came from), so the folder can
be copied alone and still predict.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torchvision.transforms import v2

from semifer.checkpoint import atomic_write_text, file_digest, load_tensors, read_json, save_tensors
from semifer.data.transforms import eval_transform
from semifer.errors import CheckpointError
from semifer.models.backbone import FrameModelSpec, build_frame_model, frame_features, load_frame_model

WEIGHTS_FILE = "frame_encoder.safetensors"
DESCRIPTION_FILE = "frame_encoder.json"
TENSOR_GROUP = "frame_encoder"  # save_checkpoint writes the group as <group>.safetensors = WEIGHTS_FILE


def weights_digest(tensors: Mapping[str, Tensor]) -> str:
    """SHA-256 of tensor names, dtypes, shapes and bytes: what the weights are, whatever file holds them.

    It can be computed before a checkpoint folder is written, so the encoder's files go into
    the same atomic folder write as the rest of the checkpoint.
    """
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def split_eval_transform(spec: FrameModelSpec) -> tuple[v2.Compose, v2.Compose]:
    """``eval_transform(spec)`` as (resize + centre crop on uint8, scale + normalise to float)."""
    steps = list(eval_transform(spec).transforms)
    first_float = next(index for index, step in enumerate(steps) if isinstance(step, v2.ToDtype))
    return v2.Compose(steps[:first_float]), v2.Compose(steps[first_float:])


class FrameEncoder(nn.Module):
    """Per-frame features and logits of face images: a frozen backbone and its ``FrameModelSpec``.

    ``resize_crop`` (RGB uint8 ``(H, W, 3)`` array or uint8 ``(..., 3, H, W)`` tensor -> uint8
    ``(..., 3, image_size, image_size)``) runs where images are decoded; ``encode`` takes its
    output in batches. ``forward`` takes normalised float pixels (what ONNX export traces).
    """

    def __init__(self, backbone: nn.Module, spec: FrameModelSpec, stage1: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.backbone = backbone.eval().requires_grad_(False)
        self.spec = spec
        # The stage-1 checkpoint the weights were read from and the digest of its weights file:
        # the key of the feature caches this encoder writes ({} when unknown).
        self.stage1 = dict(stage1 or {})
        self.resize_crop, self.normalise = split_eval_transform(spec)
        self.eval()

    def train(self, mode: bool = True) -> "FrameEncoder":
        """Always eval: the encoder is frozen, BatchNorm statistics and dropout included."""
        return super().train(False)

    @property
    def device(self) -> torch.device:
        return next(self.backbone.parameters()).device

    def preprocess(self, image: np.ndarray | Tensor) -> Tensor:
        """An RGB uint8 image -> the normalised float ``(3, image_size, image_size)`` the backbone takes."""
        return self.normalise(self.resize_crop(image))

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Normalised images ``(batch, 3, H, W)`` -> features ``(batch, feature_dim)``, logits ``(batch, classes)``."""
        features = frame_features(self.backbone, images)
        return features, self.backbone.get_classifier()(features)

    @torch.inference_mode()
    def encode(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Features and logits of ``resize_crop`` outputs, uint8 ``(batch, 3, H, W)``, on the encoder's device."""
        return self(self.normalise(images.to(self.device, non_blocking=True)))

    def with_margin(self, margin: float) -> "FrameEncoder":
        """The same encoder recording another face margin (how its training faces were framed)."""
        if not margin > 0:
            raise ValueError(f"margin must be positive, got {margin}")
        return FrameEncoder(self.backbone, replace(self.spec, margin=float(margin)), self.stage1)

    @classmethod
    def from_stage1(cls, folder: Path, network: str = "student") -> "FrameEncoder":
        """One network of a stage-1 checkpoint folder (``<network>.safetensors`` + ``model.json``)."""
        folder = Path(folder)
        backbone, spec = load_frame_model(folder, network)
        digest = file_digest(folder / f"{network}.safetensors")
        return cls(backbone, spec, {"checkpoint": str(folder.resolve()), "digest": digest})

    def checkpoint_content(self) -> tuple[dict[str, dict[str, Tensor]], dict[str, str]]:
        """The tensor group and the file that ``semifer.checkpoint.save_checkpoint`` writes for this encoder."""
        weights = self.backbone.state_dict()
        description = {"spec": asdict(self.spec), "digest": weights_digest(weights), "stage1": self.stage1}
        return {TENSOR_GROUP: weights}, {DESCRIPTION_FILE: json.dumps(description, indent=2, sort_keys=True)}

    def save(self, folder: Path) -> None:
        """Write ``frame_encoder.safetensors`` and ``frame_encoder.json`` into ``folder`` (weights first)."""
        tensors, files = self.checkpoint_content()
        save_tensors(Path(folder) / WEIGHTS_FILE, tensors[TENSOR_GROUP])
        atomic_write_text(Path(folder) / DESCRIPTION_FILE, files[DESCRIPTION_FILE])

    @classmethod
    def load(cls, folder: Path) -> "FrameEncoder":
        """The encoder saved in ``folder``; weights whose digest differs from the recorded one are refused."""
        folder = Path(folder)
        path = folder / DESCRIPTION_FILE
        description = read_json(folder, DESCRIPTION_FILE, "stage-2 checkpoint with its frame encoder")
        try:
            raw_spec, expected, stage1 = description["spec"], str(description["digest"]), dict(description.get("stage1") or {})
        except (KeyError, TypeError, ValueError) as error:
            raise CheckpointError(f"corrupt {path}: {error}") from None
        spec = FrameModelSpec.from_dict(raw_spec, path)
        weights = load_tensors(folder / WEIGHTS_FILE)
        if weights_digest(weights) != expected:
            raise CheckpointError(
                f"{folder / WEIGHTS_FILE}: digest mismatch, these are not the weights {path} records (changed or damaged)"
            )
        return cls(build_frame_model(spec, weights, path, folder / WEIGHTS_FILE), spec, stage1)
