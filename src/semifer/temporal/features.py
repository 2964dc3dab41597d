"""The per-frame feature cache: one safetensors file per video, keyed to the student that wrote it.

Layout of a cache folder ``OUT``::

    OUT/cache.json                        checkpoint path + SHA-256 digest, feature size, backbone
    OUT/<split>/<video>.safetensors       features (frames, dim) float16, mask (frames,) bool,
                                          labels (frames,) int64 (-1 = not annotated),
                                          logits (frames, classes) float32 (the student's own head)

Each video file's safetensors metadata repeats the checkpoint digest and the feature size and
adds a digest of the frame list (which frames have an image, and their labels), so a file is
trusted only if all three match: a changed checkpoint or annotation is re-extracted, never
mixed in. Files are written atomically (temporary name + rename): a killed run leaves only
whole files, and the next run skips them. The student's logits ride along (8 floats per frame
against 2048 for the features) so that the ablation scores a stage-1 checkpoint per frame
without decoding a single image again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open

from semifer.checkpoint import atomic_write_json, read_json, save_tensors
from semifer.errors import CheckpointError, DataFormatError
from semifer.models.frame_encoder import FrameEncoder

INDEX_FILE = "cache.json"
SUFFIX = ".safetensors"


def frames_digest(name: str, has_face: np.ndarray, labels: np.ndarray) -> str:
    """Digest of a video's frame list: which frames have an image, and their labels."""
    digest = hashlib.sha256(name.encode())
    digest.update(np.int64(len(labels)).tobytes())
    digest.update(np.ascontiguousarray(has_face, dtype=bool).tobytes())
    digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    return digest.hexdigest()


def video_path(cache: Path, split: str, name: str) -> Path:
    return Path(cache) / split / f"{name}{SUFFIX}"


def write_video(
    path: Path,
    features: torch.Tensor,
    mask: torch.Tensor,
    labels: torch.Tensor,
    logits: torch.Tensor,
    metadata: dict[str, str],
) -> None:
    """Write one video's cache file atomically."""
    tensors = {
        "features": features.to(torch.float16),
        "mask": mask.to(torch.bool),
        "labels": labels.to(torch.int64),
        "logits": logits.to(torch.float32),
    }
    save_tensors(path, tensors, metadata)


def read_metadata(path: Path) -> dict[str, str]:
    """The safetensors metadata of a cache file (reads the header only)."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"corrupt feature cache file {path}: {error}") from None


def write_index(cache: Path, payload: dict[str, Any]) -> None:
    atomic_write_json(Path(cache) / INDEX_FILE, payload)


def read_index(cache: Path) -> dict[str, Any]:
    """``cache.json`` of a cache folder: which checkpoint wrote it and the feature size."""
    if not (Path(cache) / INDEX_FILE).is_file():
        raise CheckpointError(f"{cache} is not a feature cache: no {INDEX_FILE} (run semifer extract-features)")
    return read_json(cache, INDEX_FILE)


@dataclass
class CachedVideo:
    """One video read back from the cache."""

    name: str
    features: torch.Tensor  # (frames, dim) float16
    mask: torch.Tensor  # (frames,) bool, True = frame has a face image
    labels: torch.Tensor  # (frames,) int64, -1 = not annotated
    logits: torch.Tensor  # (frames, classes) float32, the stage-1 student's head


class FeatureCache:
    """Read access to one split of a cache folder, checked against the checkpoint that wrote it.

    Every file is checked against ``cache.json`` (checkpoint digest and feature size) when
    opened; ``expected_digest`` additionally pins the cache to a given stage-1 checkpoint.
    """

    def __init__(self, folder: Path, split: str, expected_digest: str | None = None) -> None:
        self.folder = Path(folder)
        self.split = split
        self.index = read_index(self.folder)
        self.digest = str(self.index["checkpoint_digest"])
        self.feature_dim = int(self.index["feature_dim"])
        if expected_digest is not None and expected_digest != self.digest:
            raise CheckpointError(
                f"{self.folder / INDEX_FILE}: cache was written by checkpoint {self.digest[:12]}, "
                f"expected {expected_digest[:12]}; extract features with the matching checkpoint"
            )
        split_folder = self.folder / split
        self.names = sorted(path.name[: -len(SUFFIX)] for path in split_folder.glob(f"*{SUFFIX}"))
        if not self.names:
            raise DataFormatError(f"{split_folder}: no cached videos for split {split!r}")

    def __len__(self) -> int:
        return len(self.names)

    def frame_encoder(self) -> FrameEncoder:
        """The stage-1 network whose features the cache holds (``cache.json`` names it), checked by digest.

        Stage 2 stores it in its checkpoints, so they predict without this folder: a stage-1 folder
        that changed or vanished since extraction is refused rather than stored with these features.
        """
        index_path = self.folder / INDEX_FILE
        checkpoint = Path(str(self.index.get("checkpoint") or ""))
        if not (checkpoint / "student.safetensors").is_file():
            raise CheckpointError(f"{index_path}: its stage-1 checkpoint {checkpoint} has no student.safetensors (moved or deleted?)")
        encoder = FrameEncoder.from_stage1(checkpoint)
        if encoder.stage1["digest"] != self.digest:
            raise CheckpointError(
                f"stage-1 checkpoint {checkpoint} changed since {index_path} was extracted from it (student digest "
                f"{encoder.stage1['digest'][:12]}, cache {self.digest[:12]}); re-run semifer extract-features"
            )
        return encoder

    def path(self, name: str) -> Path:
        return video_path(self.folder, self.split, name)

    def check(self, name: str) -> int:
        """Verify one file's metadata; returns its frame count."""
        path = self.path(name)
        if not path.is_file():
            raise DataFormatError(f"{path}: video {name} is not in the feature cache")
        metadata = read_metadata(path)
        if metadata.get("checkpoint_digest") != self.digest:
            raise CheckpointError(
                f"{path}: written by checkpoint {str(metadata.get('checkpoint_digest'))[:12]}, but the cache "
                f"belongs to {self.digest[:12]}; re-run semifer extract-features"
            )
        if int(metadata.get("feature_dim", -1)) != self.feature_dim:
            raise CheckpointError(
                f"{path}: feature size {metadata.get('feature_dim')} differs from the cache's {self.feature_dim}"
            )
        return int(metadata["frames"])

    def frame_counts(self) -> dict[str, int]:
        return {name: self.check(name) for name in self.names}

    def load(self, name: str) -> CachedVideo:
        """Read a whole video (checked)."""
        self.check(name)
        path = self.path(name)
        try:
            with safe_open(str(path), framework="pt") as handle:
                tensors = {key: handle.get_tensor(key) for key in ("features", "mask", "labels", "logits")}
        except (SafetensorError, OSError) as error:
            raise CheckpointError(f"corrupt feature cache file {path}: {error}") from None
        return CachedVideo(name=name, **tensors)

    def load_clip(self, name: str, start: int, stop: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Features, mask and labels of frames ``start:stop``, read lazily (memory-mapped)."""
        with safe_open(str(self.path(name)), framework="pt") as handle:
            return tuple(handle.get_slice(key)[start:stop] for key in ("features", "mask", "labels"))  # type: ignore[return-value]

    def frame_labels(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Labels and face mask of one video, without reading its features."""
        with safe_open(str(self.path(name)), framework="pt") as handle:
            return handle.get_tensor("labels").numpy(), handle.get_tensor("mask").numpy()
