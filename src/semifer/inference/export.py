"""ONNX export of a checkpoint's networks, for runtimes without PyTorch.

``frame_model.onnx`` is the ``FrameEncoder``'s network: normalised face crops ``images (batch,
3, H, W)`` to ``features (batch, D)`` and ``logits (batch, C)``; ``temporal.onnx`` (stage-2
checkpoints only) maps ``features (batch, frames, D)`` and ``mask (batch, frames)`` to ``logits
(batch, frames, C)``. ``preprocessing.json`` holds what a caller must do to a crop first.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

import torch
from torch import Tensor, nn

from semifer.checkpoint import atomic_path, atomic_write_json
from semifer.inference.align import CROP_SIZE
from semifer.models.resolve import resolve_checkpoint

LOGGER = logging.getLogger(__name__)
OPSET = 18


def _export(module: nn.Module, inputs: tuple[Tensor, ...], path: Path, names: dict[str, list[str]], dynamic: dict) -> None:
    program = torch.onnx.export(
        module, inputs, dynamo=True, input_names=names["inputs"], output_names=names["outputs"],
        dynamic_shapes=dynamic, opset_version=OPSET, verbose=False,
    )  # fmt: skip
    with atomic_path(path) as temporary:
        program.save(str(temporary))


def export_onnx(checkpoint: Path, out: Path) -> list[Path]:
    """Export the networks of ``checkpoint`` (stage 1 or 2) into the folder ``out``; returns the files."""
    encoder, temporal, description = resolve_checkpoint(checkpoint).load()
    spec = encoder.spec
    out.mkdir(parents=True, exist_ok=True)
    batch = torch.export.Dim("batch", min=1, max=4096)
    images = torch.zeros(2, 3, spec.image_size, spec.image_size)
    frame_path = out / "frame_model.onnx"
    _export(
        encoder, (images,), frame_path, {"inputs": ["images"], "outputs": ["features", "logits"]}, {"images": {0: batch}},
    )  # fmt: skip
    written = [frame_path]
    if temporal is not None:
        length = int(description.get("clip_length", 64))
        features = torch.zeros(2, length, spec.feature_dim)
        mask = torch.ones(2, length, dtype=torch.bool)
        temporal_path = out / "temporal.onnx"
        _export(
            temporal, (features, mask), temporal_path, {"inputs": ["features", "mask"], "outputs": ["logits"]},
            {"features": {0: batch}, "mask": {0: batch}},
        )  # fmt: skip
        written.append(temporal_path)
    preprocessing = out / "preprocessing.json"
    atomic_write_json(
        preprocessing,
        {
            "model": asdict(spec),
            "crop": {"size": CROP_SIZE, "margin": spec.margin, "then": "resize to resize_size, centre-crop image_size, /255, (x - mean) / std"},
            "temporal": description or None,
        },
    )
    written.append(preprocessing)
    LOGGER.info("exported %s", ", ".join(str(p) for p in written))
    return written
