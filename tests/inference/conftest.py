"""Fixtures of the inference tests: tiny checkpoints and short synthetic videos, built once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from inference_helpers import face_frames, make_stage1_checkpoint, make_stage2_checkpoint, write_video  # noqa: E402


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A stage-1 (``test_resnet``) and a stage-2 checkpoint that names it."""
    root = tmp_path_factory.mktemp("checkpoints")
    stage1 = make_stage1_checkpoint(root / "spatial")
    return {"stage1": stage1, "stage2": make_stage2_checkpoint(root / "temporal", stage1)}


@pytest.fixture(scope="session")
def face_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 frames of one drawn face, with no face in frames 10-12."""
    return write_video(tmp_path_factory.mktemp("videos") / "face.mp4", face_frames(40, no_face=(10, 11, 12)))
