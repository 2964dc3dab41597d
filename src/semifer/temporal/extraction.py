"""Turn every frame of every video into one feature vector with the frozen stage-1 student.

DataLoader workers decode, resize and crop the frames (uint8) while the main process runs the
``FrameEncoder`` (normalisation and network, on the device), so on a GPU the model sets the pace. Frames are read in video order; a video's file is written
(atomically) as soon as its last frame has passed, so a killed run loses at most the videos
in flight. Under ``torchrun`` each rank takes every ``world_size``-th video; no collective is
needed because every video has its own file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from rich.progress import Progress
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from semifer.data.affwild2 import AffWild2Videos, VideoFrames
from semifer.data.base import decode_image
from semifer.errors import CheckpointError, CorruptImageError, DataFormatError
from semifer.labels import NUM_CLASSES
from semifer.models.backbone import FrameModelSpec
from semifer.models.frame_encoder import FrameEncoder
from semifer.runs.distributed import resolve_device
from semifer.temporal.features import frames_digest, read_index, read_metadata, video_path, write_index, write_video

logger = logging.getLogger(__name__)

Encoder = Callable[[Tensor], tuple[Tensor, Tensor]]  # uint8 images -> (features, logits): FrameEncoder.encode


@dataclass
class ExtractionSummary:
    """What one extraction run did (per rank)."""

    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    frames: int = 0
    corrupt_images: int = 0


class _FrameImages(Dataset):
    """The face images of a list of videos, in order; decoded in DataLoader workers."""

    def __init__(self, items: list[tuple[int, int, Path]], transform: Callable[[np.ndarray], Tensor], shape: tuple[int, ...]) -> None:
        self.items = items
        self.transform = transform
        self.shape = shape

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[Tensor, int, int, bool]:
        video, frame, path = self.items[index]
        try:
            return self.transform(decode_image(path.read_bytes(), str(path))), video, frame, True
        except (CorruptImageError, OSError) as error:
            logger.warning("%s: skipped (%s)", path, error)
            return torch.zeros(self.shape, dtype=torch.uint8), video, frame, False


def shard(names: Sequence[str], rank: int, world_size: int) -> list[str]:
    """The videos rank ``rank`` extracts: every ``world_size``-th, so ranks get similar loads."""
    return list(names[rank::world_size])


def _is_current(path: Path, checkpoint_digest: str, digest: str, feature_dim: int) -> bool:
    if not path.is_file():
        return False
    metadata = read_metadata(path)
    current = (
        metadata.get("checkpoint_digest") == checkpoint_digest
        and metadata.get("frames_digest") == digest
        and metadata.get("feature_dim") == str(feature_dim)
    )
    if not current:
        logger.warning("%s: written by another checkpoint, frame list or feature size; re-extracting", path)
    return current


def extract_videos(
    encode: Encoder,
    transform: Callable[[np.ndarray], Tensor],
    image_shape: tuple[int, ...],
    videos: Sequence[VideoFrames],
    out: Path,
    split: str,
    checkpoint_digest: str,
    feature_dim: int,
    batch_size: int = 64,
    num_workers: int = 2,
    progress: bool = False,
) -> ExtractionSummary:
    """Extract and write the cache files of ``videos`` that are missing or stale."""
    summary = ExtractionSummary()
    todo: list[tuple[VideoFrames, str]] = []
    for video in videos:
        if len(video.labels) == 0:
            raise DataFormatError(f"video {video.name} is empty: its annotation lists no frame")
        digest = frames_digest(video.name, video.has_face, video.labels)
        if _is_current(video_path(out, split, video.name), checkpoint_digest, digest, feature_dim):
            summary.skipped.append(video.name)
        else:
            todo.append((video, digest))
    items = [(v, f, path) for v, (video, _) in enumerate(todo) for f, path in enumerate(video.frame_paths) if path is not None]
    loader = DataLoader(
        _FrameImages(items, transform, image_shape),
        batch_size=batch_size,
        num_workers=num_workers,
        pin_memory=torch.cuda.is_available(),
    )
    buffers: dict[int, tuple[Tensor, Tensor, Tensor]] = {}  # features, mask, logits of each video under way
    flushed = 0

    def empty(video: VideoFrames, classes: int) -> tuple[Tensor, Tensor, Tensor]:
        frames = len(video.labels)
        return torch.zeros(frames, feature_dim), torch.zeros(frames, dtype=torch.bool), torch.zeros(frames, classes)

    def flush(until: int) -> None:
        nonlocal flushed
        while flushed < until:
            video, digest = todo[flushed]
            features, mask, logits = buffers.pop(flushed) if flushed in buffers else empty(video, NUM_CLASSES)
            metadata = {
                "checkpoint_digest": checkpoint_digest, "frames_digest": digest, "feature_dim": str(feature_dim),
                "frames": str(len(video.labels)), "video": video.name,
            }
            write_video(video_path(out, split, video.name), features, mask, torch.from_numpy(video.labels), logits, metadata)
            summary.written.append(video.name)
            flushed += 1

    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task(f"extract {split}", total=len(items))
        for images, video_index, frame_index, ok in loader:
            features, logits = encode(images)
            features, logits = features.float().cpu(), logits.float().cpu()
            for v in torch.unique_consecutive(video_index).tolist():
                if v not in buffers:
                    buffers[v] = empty(todo[v][0], logits.shape[1])
                rows = (video_index == v) & ok
                buffers[v][0][frame_index[rows]] = features[rows]
                buffers[v][1][frame_index[rows]] = True
                buffers[v][2][frame_index[rows]] = logits[rows]
            summary.frames += len(images)
            summary.corrupt_images += int((~ok).sum())
            flush(int(video_index[-1]))
            bar.advance(task, len(images))
        flush(len(todo))
    return summary


def extract_features(
    checkpoint: Path,
    data_root: Path,
    out: Path,
    splits: Sequence[str] = ("train", "validation"),
    batch_size: int = 64,
    num_workers: int = 2,
    device: str = "auto",
    progress: bool = True,
) -> Path:
    """Cache the frozen student's features of every frame of ``splits`` under ``out``; returns ``out``.

    ``data_root`` is the Aff-Wild2 folder (``annotations/`` + ``cropped_aligned/``) or a folder
    holding ``aff-wild2/`` (the synthetic layout).
    """
    checkpoint, data_root, out = Path(checkpoint), Path(data_root), Path(out)
    if (data_root / "aff-wild2").is_dir():
        data_root = data_root / "aff-wild2"
    if not (checkpoint / "student.safetensors").is_file():
        raise CheckpointError(f"{checkpoint} is not a stage-1 checkpoint: no student.safetensors")
    encoder = FrameEncoder.from_stage1(checkpoint).to(resolve_device(device))  # one GPU per torchrun rank
    spec, digest = encoder.spec, encoder.stage1["digest"]
    rank, world_size = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))  # set by torchrun
    if rank == 0:
        _write_index(out, checkpoint, digest, spec)
    shape = (3, spec.image_size, spec.image_size)
    for split in splits:
        videos = AffWild2Videos(data_root, split)
        mine = [videos.video(name) for name in shard(videos.names, rank, world_size)]
        summary = extract_videos(
            encoder.encode, encoder.resize_crop, shape, mine, out, split, digest, spec.feature_dim,
            batch_size, num_workers, progress,
        )  # fmt: skip
        logger.info(
            "%s rank %d/%d: %d videos written, %d already cached, %d frames, %d undecodable images",
            split, rank, world_size, len(summary.written), len(summary.skipped), summary.frames, summary.corrupt_images,
        )
    return out


def _write_index(out: Path, checkpoint: Path, digest: str, spec: FrameModelSpec) -> None:
    """Record which checkpoint the cache belongs to; a different one replaces the record."""
    index = {
        "checkpoint": str(checkpoint.resolve()),
        "checkpoint_digest": digest,
        "feature_dim": int(spec.feature_dim),
        "backbone": str(spec.backbone),
    }
    if (out / "cache.json").is_file():
        previous = read_index(out)
        if previous.get("checkpoint_digest") != digest or previous.get("feature_dim") != index["feature_dim"]:
            logger.warning("%s held features of another checkpoint; its videos are re-extracted", out)
    write_index(out, index)
