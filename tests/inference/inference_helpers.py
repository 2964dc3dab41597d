"""Synthetic faces, videos and tiny checkpoints for the inference tests (no downloads)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

FRAME_SIZE = (240, 320)  # (height, width)


def draw_face(size: int, smile: float = 0.0) -> np.ndarray:
    """A drawn frontal face (RGB) that OpenCV's Haar cascade finds at 64-160 px: oval, eyes, brows, mouth."""
    image = np.full((size, size, 3), 60, np.uint8)
    centre = size // 2
    cv2.ellipse(image, (centre, centre + size // 20), (int(size * 0.36), int(size * 0.46)), 0, 0, 360, (225, 180, 150), -1)
    for side in (-1, 1):
        eye_x, eye_y = centre + side * int(size * 0.16), centre - int(size * 0.06)
        cv2.ellipse(image, (eye_x, eye_y), (int(size * 0.09), int(size * 0.05)), 0, 0, 360, (255, 255, 255), -1)
        cv2.circle(image, (eye_x, eye_y), int(size * 0.035), (20, 20, 30), -1)
        brow = (eye_x - int(size * 0.1), eye_y - int(size * 0.09)), (eye_x + int(size * 0.09), eye_y - int(size * 0.1))
        cv2.line(image, *brow, (60, 40, 30), max(3, size // 25))
    cv2.line(image, (centre, centre - int(size * 0.02)), (centre, centre + int(size * 0.12)), (190, 140, 120), max(2, size // 50))
    mouth = (int(size * 0.13), int(size * 0.03 + smile * size * 0.05))
    cv2.ellipse(image, (centre, centre + int(size * 0.24)), mouth, 0, 0, 360, (140, 50, 50), -1)
    return cv2.GaussianBlur(image, (5, 5), 0)


def face_frames(count: int, face_size: int = 120, no_face: tuple[int, ...] = ()) -> list[np.ndarray]:
    """``count`` frames with one face drifting right; frames in ``no_face`` show only background."""
    frames = []
    for index in range(count):
        frame = np.full((*FRAME_SIZE, 3), 90, np.uint8)
        if index not in no_face:
            face = draw_face(face_size, smile=(index % 10) / 10)
            top, left = 50, 40 + 2 * index
            frame[top : top + face_size, left : left + face_size] = face
        frames.append(frame)
    return frames


def write_video(path: Path, frames: list[np.ndarray], fps: int = 25, codec: str = "libx264", faststart: bool = False) -> Path:
    """Encode RGB frames into ``path`` with PyAV (``mjpeg`` makes every frame its own packet).

    ``faststart`` puts the MP4 index (with the frame count) before the frames, as streaming
    sites do, so a file cut short still opens and declares every frame.
    """
    with av.open(str(path), "w", options={"movflags": "faststart"} if faststart else {}) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def make_stage1_checkpoint(folder: Path, backbone: str = "test_resnet", num_classes: int = 8, seed: int = 0) -> Path:
    """A stage-1 checkpoint folder as the trainer writes it (student weights + model.json)."""
    import torch

    from semifer.checkpoint import save_checkpoint
    from semifer.data.transforms import resize_for
    from semifer.models.backbone import MODEL_FILE, FrameModelSpec, create_backbone

    torch.manual_seed(seed)
    model = create_backbone(backbone, num_classes)
    spec = FrameModelSpec.for_model(model, backbone, 64, resize_for(64))
    return save_checkpoint(folder, {"student": model.state_dict()}, {"step": 0}, {MODEL_FILE: json.dumps(asdict(spec))})


def make_stage2_checkpoint(folder: Path, stage1: Path, feature_dim: int | None = None) -> Path:
    """A stage-2 checkpoint folder as the trainer writes it: a temporal encoder and the frame encoder of ``stage1``."""
    import torch

    from semifer.checkpoint import save_checkpoint
    from semifer.models.frame_encoder import FrameEncoder
    from semifer.models.temporal import MODEL_FILE, EncoderConfig, TemporalEncoder, model_description

    frame_encoder = FrameEncoder.from_stage1(stage1)
    dim = feature_dim or frame_encoder.spec.feature_dim
    config = EncoderConfig(width=32, layers=1, heads=2, feedforward=64, dropout=0.0, max_length=16)
    torch.manual_seed(1)
    encoder = TemporalEncoder(dim, config)
    spatial = {"checkpoint": frame_encoder.stage1["checkpoint"], "checkpoint_digest": frame_encoder.stage1["digest"]}
    description = model_description(dim, config, 16, 8, spatial)
    tensors, files = frame_encoder.checkpoint_content()
    return save_checkpoint(folder, {"temporal": encoder.state_dict(), **tensors}, {"step": 0}, {MODEL_FILE: json.dumps(description), **files})


def write_truncated_video(path: Path, frames: list[np.ndarray], keep: float = 0.6) -> Path:
    """A faststart MP4 cut after ``keep`` of its bytes: the header still declares every frame."""
    write_video(path, frames, faststart=True)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``semifer ARGS`` in-process as the console script does; returns (status, stdout, stderr)."""
    from semifer.cli import main

    monkeypatch.setattr(sys, "argv", ["semifer", *args])
    with pytest.raises(SystemExit) as stop:
        main()
    captured = capsys.readouterr()
    return int(stop.value.code or 0), captured.out, captured.err
