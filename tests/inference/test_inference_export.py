"""ONNX export: ONNX Runtime gives PyTorch's outputs for the frame model and the temporal encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
import torch

from semifer import Recognizer
from semifer.inference.export import export_onnx


def test_onnx_outputs_match_pytorch(checkpoints, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files = export_onnx(checkpoints["stage2"], tmp_path)
    assert [p.name for p in files] == ["frame_model.onnx", "temporal.onnx", "preprocessing.json"]
    recognizer = Recognizer.from_checkpoint(checkpoints["stage2"], device="cpu")
    images = torch.randn(5, 3, 64, 64, generator=torch.Generator().manual_seed(0))  # batch 5: not the traced 2
    with torch.inference_mode():
        features, logits = recognizer.encoder(images)  # normalised crops, as the ONNX model takes them
    frame_session = onnxruntime.InferenceSession(str(files[0]))
    onnx_features, onnx_logits = frame_session.run(None, {"images": images.numpy()})
    np.testing.assert_allclose(onnx_features, features.numpy(), atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(onnx_logits, logits.numpy(), atol=1e-4, rtol=1e-4)

    clip = torch.randn(3, 16, features.shape[1])
    mask = torch.ones(3, 16, dtype=torch.bool)
    mask[0, 4:9] = False  # frames without a face
    mask[2] = False  # a clip without any face
    with torch.inference_mode():
        expected = recognizer.temporal(clip, mask)
    temporal_session = onnxruntime.InferenceSession(str(files[1]))
    (onnx_temporal,) = temporal_session.run(None, {"features": clip.numpy(), "mask": mask.numpy()})
    np.testing.assert_allclose(onnx_temporal, expected.numpy(), atol=1e-4, rtol=1e-4)
