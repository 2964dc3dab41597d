"""One rule for what a checkpoint folder holds, for everything that loads a trained model.

- **stage 2**: ``temporal.safetensors`` + ``model.json`` (the temporal encoder) and
  ``frame_encoder.safetensors`` + ``frame_encoder.json`` (the frame encoder it was trained on);
  it needs nothing outside the folder.
- **stage 1**: ``student.safetensors`` + ``model.json`` (``FrameModelSpec``): per frame only.

A run folder stands for its ``best/``. ``Recognizer.from_checkpoint``, ONNX export and the
scoring of cached features (``semifer.temporal.evaluate.predict_cache``) all resolve here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semifer.checkpoint import file_digest
from semifer.errors import CheckpointError
from semifer.labels import NUM_CLASSES
from semifer.models.frame_encoder import DESCRIPTION_FILE, FrameEncoder
from semifer.models.temporal import WEIGHTS_FILE as TEMPORAL_WEIGHTS
from semifer.models.temporal import TemporalEncoder, load_temporal_model

STUDENT_WEIGHTS = "student.safetensors"


@dataclass(frozen=True)
class ResolvedCheckpoint:
    """A checkpoint folder and its stage: 2 (temporal + frame encoder) or 1 (a stage-1 network)."""

    folder: Path
    stage: int

    @property
    def temporal(self) -> bool:
        return self.stage == 2

    def frame_encoder(self) -> FrameEncoder:
        """The encoder a stage-2 folder carries, or a stage-1 folder's student."""
        return FrameEncoder.load(self.folder) if self.temporal else FrameEncoder.from_stage1(self.folder)

    def temporal_model(self) -> tuple[TemporalEncoder, dict[str, Any]]:
        """The temporal encoder (eval mode) and its ``model.json`` description (stage 2 only)."""
        if not self.temporal:
            raise CheckpointError(f"{self.folder} is a stage-1 checkpoint: it has no temporal model")
        return load_temporal_model(self.folder)

    def student_digest(self) -> str:
        """SHA-256 of a stage-1 folder's student weights: the key of the feature caches it writes."""
        return file_digest(self.folder / STUDENT_WEIGHTS)

    def load(self) -> tuple[FrameEncoder, TemporalEncoder | None, dict[str, Any]]:
        """The networks that label frames, checked to fit together and to give the 8 ABAW classes."""
        encoder = self.frame_encoder()
        spec = encoder.spec
        if spec.num_classes != NUM_CLASSES:
            raise CheckpointError(f"{self.folder}: a {spec.num_classes}-class model; semifer predicts the {NUM_CLASSES} ABAW classes")
        if not self.temporal:
            return encoder, None, {}
        temporal, description = self.temporal_model()
        if int(description["feature_dim"]) != spec.feature_dim:
            raise CheckpointError(
                f"{self.folder}: the temporal model takes {description['feature_dim']}-d features but its frame encoder "
                f"({spec.backbone}) gives {spec.feature_dim}-d: a checkpoint of another backbone"
            )
        if int(description.get("num_classes", NUM_CLASSES)) != NUM_CLASSES:
            raise CheckpointError(f"{self.folder}: a {description['num_classes']}-class temporal model; expected {NUM_CLASSES}")
        return encoder, temporal, description


def _stage(folder: Path) -> int | None:
    if (folder / TEMPORAL_WEIGHTS).is_file():
        return 2
    return 1 if (folder / STUDENT_WEIGHTS).is_file() else None


def resolve_checkpoint(path: str | Path) -> ResolvedCheckpoint:
    """The checkpoint at ``path`` (a checkpoint folder, or a run folder for its ``best/``).

    Raises:
        CheckpointError: no such folder, neither kind of checkpoint, or a stage-2 folder
            without its frame encoder (written before stage-2 checkpoints carried one).
    """
    folder = Path(path)
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint folder not found: {folder}")
    if _stage(folder) is None and _stage(folder / "best") is not None:
        folder = folder / "best"
    stage = _stage(folder)
    if stage is None:
        raise CheckpointError(
            f"{folder}: neither a stage-2 checkpoint ({TEMPORAL_WEIGHTS}) nor a stage-1 one ({STUDENT_WEIGHTS})"
        )
    if stage == 2 and not (folder / DESCRIPTION_FILE).is_file():
        raise CheckpointError(
            f"{folder}: a stage-2 checkpoint without its frame encoder ({DESCRIPTION_FILE}); it predates "
            "self-contained checkpoints, train stage 2 again"
        )
    return ResolvedCheckpoint(folder, stage)
