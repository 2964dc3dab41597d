"""Small face images decoded once into a memory-mapped uint8 array, for training on a CPU.

Decoding a 112x112 JPEG and resizing it costs about as much as one small network's forward
pass on it, and stage 1 draws every image hundreds of times. For data sets small enough to
hold decoded (the synthetic demo: ~20,000 faces at 72 px are 300 MB) the faces are decoded
once, resized and centre-cropped to a square of ``side`` pixels as the eval transform would,
and written to ``<name>.npy``; training draws random crops of them on batched tensors.

``<name>.json`` beside it records what the pixels were made from: a digest of every item's
key, face box and encoded bytes, the side, the item count and the file's byte size. A cache
whose record does not match its images (changed files, another size, a truncated ``.npy``) is
never read: it is rebuilt, and the log names the file and the reason. The record is written
last, so a build that was killed leaves no valid record behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from semifer.checkpoint import atomic_path, atomic_write_json
from semifer.data.base import CorruptImageError, FaceReader

log = logging.getLogger(__name__)
FORMAT_VERSION = 1


class ImageSource(Protocol):
    """What the cache reads: items of one or more readers (``semifer.ssl.data.FacePool``)."""

    def __len__(self) -> int: ...

    def load(self, index: int) -> np.ndarray: ...

    def locate(self, index: int) -> tuple[FaceReader, int]: ...


@dataclass
class DecodedImages:
    """``pixels[i]`` is item ``i`` as ``(side, side, 3)`` uint8 RGB; ``valid[i]`` is False where it
    could not be decoded (such items are skipped and counted when drawn, like on the fly)."""

    pixels: np.ndarray
    valid: np.ndarray
    path: Path

    @property
    def side(self) -> int:
        return int(self.pixels.shape[1])


def square_face(image: np.ndarray, side: int) -> np.ndarray:
    """Resize the shorter side to ``side`` and centre-crop a square: the eval transform's geometry."""
    height, width = image.shape[:2]
    scale = side / min(height, width)
    size = (max(side, round(width * scale)), max(side, round(height * scale)))
    resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    top, left = (resized.shape[0] - side) // 2, (resized.shape[1] - side) // 2
    return resized[top : top + side, left : left + side]


def fingerprint(source: ImageSource, side: int) -> str:
    """Digest of everything the pixels depend on: each item's key, box and encoded bytes."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"v{FORMAT_VERSION} side={side} items={len(source)}".encode())
    for index in range(len(source)):
        reader, item = source.locate(index)
        try:
            data = reader.read_bytes(item)
        except CorruptImageError:
            data = b""  # an unreadable file is part of what the cache records
        digest.update(f"{reader.source}|{reader.key(item)}|{reader.box(item)}|{len(data)}".encode())
        digest.update(data)
    return digest.hexdigest()


def open_decoded(source: ImageSource, side: int, path: Path, progress: Callable[[int], None] | None = None) -> DecodedImages:
    """The cache at ``path`` (``.npy`` + ``.json``) for ``source``: opened when it matches, else rebuilt."""
    path = Path(path)
    record_path = path.with_suffix(".json")
    expected = fingerprint(source, side)
    problem = _mismatch(path, record_path, expected, side, len(source))
    if problem is None:
        record = json.loads(record_path.read_text())
        log.info("decoded-image cache %s: %d images at %d px, reused", path, len(source), side)
        return DecodedImages(np.load(path, mmap_mode="r"), np.asarray(record["valid"], dtype=bool), path)
    if problem != "absent":
        log.warning("decoded-image cache %s does not match its images (%s): rebuilding it", path, problem)
    return _build(source, side, path, record_path, expected, progress)


def _mismatch(path: Path, record_path: Path, expected: str, side: int, count: int) -> str | None:
    """Why the cache cannot be used as it is, or None when it can."""
    if not record_path.is_file() and not path.is_file():
        return "absent"
    if not record_path.is_file():
        return f"no record {record_path.name}"
    try:
        record = json.loads(record_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return f"unreadable record {record_path.name}: {error}"
    if record.get("side") != side or record.get("count") != count:
        return f"built for {record.get('count')} images at {record.get('side')} px, not {count} at {side} px"
    if record.get("fingerprint") != expected:
        return "the images or their list changed since it was built"
    if not path.is_file() or path.stat().st_size != record.get("bytes"):
        size = path.stat().st_size if path.is_file() else 0
        return f"{path.name} holds {size} bytes, {record.get('bytes')} expected (truncated or replaced)"
    if len(record.get("valid", [])) != count:
        return "record lists the wrong number of items"
    return None


def _build(
    source: ImageSource, side: int, path: Path, record_path: Path, digest: str,
    progress: Callable[[int], None] | None,
) -> DecodedImages:
    path.parent.mkdir(parents=True, exist_ok=True)
    record_path.unlink(missing_ok=True)  # no record while the pixels are being rewritten
    valid = np.ones(len(source), dtype=bool)
    with atomic_path(path) as partial:
        pixels = np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8, shape=(len(source), side, side, 3))
        for index in range(len(source)):
            try:
                pixels[index] = square_face(source.load(index), side)
            except CorruptImageError as error:
                log.warning("skipped: %s", error)
                valid[index] = False
            if progress is not None:
                progress(index + 1)
        pixels.flush()
        del pixels
    skipped = int((~valid).sum())
    record = {
        "fingerprint": digest, "side": side, "count": len(source), "bytes": path.stat().st_size,
        "valid": valid.astype(int).tolist(), "skipped": skipped, "version": FORMAT_VERSION,
    }
    atomic_write_json(record_path, record)
    log.info("decoded-image cache %s: %d images at %d px written (%d undecodable, skipped)", path, len(source), side, skipped)
    return DecodedImages(np.load(path, mmap_mode="r"), valid, path)
