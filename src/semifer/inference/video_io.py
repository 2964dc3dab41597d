"""Frames from whatever the user points at: a video file, a folder of frames, an image, a glob.

Every source yields ``Frame`` objects in order. A frame that cannot be decoded is still
yielded (``image=None``) so that frame indices stay aligned with the video and the output
can flag it; decoding then goes on with the next frame. ``prefetch`` runs any source in a
background thread behind a bounded queue, so decoding overlaps with the model.
"""

from __future__ import annotations

import glob
import logging
import math
import queue
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import av
import cv2
import numpy as np

from semifer.errors import InputError

LOGGER = logging.getLogger(__name__)
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
GLOB_CHARACTERS = re.compile(r"[*?\[]")
# OpenCV's read() fails both on a corrupt frame (and goes on with the next one) and at the end
# of the stream, where it keeps failing at once. This many failures in a row mean the end; a
# longer run of corrupt frames ends the video there, and the declared-count check warns.
END_OF_STREAM_READS = 100
T = TypeVar("T")


@dataclass
class Frame:
    """One decoded frame; ``image`` is RGB uint8 ``(H, W, 3)`` or ``None`` when unreadable.

    ``missing`` marks a gap in a numbered frame folder: Aff-Wild2's ``cropped_aligned`` has
    no image for a frame without a face, and the frame still needs its row and label.
    """

    index: int
    timestamp: float
    image: np.ndarray | None
    location: str
    missing: bool = False


class FrameSource(Protocol):
    """An ordered, re-iterable stream of frames with a name for the output files."""

    name: str
    fps: float

    def __iter__(self) -> Iterator[Frame]: ...


def _natural_key(path: Path) -> list[int | str]:
    # Frame folders are numbered without padding often enough that "10.jpg" must follow "9.jpg".
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


class ImageListSource:
    """Still images (a frame folder, one image or a glob), one frame each, in natural order.

    ``frame_folder`` marks the frames of one video (an Aff-Wild2 ``cropped_aligned/<video>``
    folder): numbered images keep their number and gaps become ``missing`` frames. Any other
    list of images gives exactly one frame per file, whatever the names.
    """

    def __init__(self, paths: list[Path], name: str, fps: float = math.nan, frame_folder: bool = False) -> None:
        self.paths = paths
        self.name = name
        self.fps = fps
        self.frame_folder = frame_folder

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self) -> Iterator[Frame]:
        for index, path in self._numbered():
            timestamp = index / self.fps if self.fps > 0 else math.nan
            if path is None:
                yield Frame(index, timestamp, None, f"{self.name}/{index + 1:05d} (no image)", missing=True)
                continue
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                LOGGER.warning("%s: unreadable image, flagged and skipped", path)
            rgb = None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            yield Frame(index, timestamp, rgb, str(path))

    def _numbered(self) -> Iterator[tuple[int, Path | None]]:
        """``(frame index, path)``; in a frame folder, frames named by number (``00001.jpg`` =
        frame 0) keep their number and the gaps between them come out as ``None``."""
        numbers = [int(p.stem) if p.stem.isdigit() else None for p in self.paths]
        if not self.frame_folder or len(self.paths) < 2 or None in numbers or min(numbers) < 1:  # type: ignore[type-var]
            yield from enumerate(self.paths)
            return
        by_number = dict(zip(numbers, self.paths, strict=True))
        for number in range(1, max(by_number) + 1):  # type: ignore[arg-type]
            yield number - 1, by_number.get(number)


class PyAVSource:
    """A video file decoded with PyAV (FFmpeg), packet by packet so one bad packet costs one frame."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.stem
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError(f"{path}: the file has no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            self.fps = float(rate) if rate else math.nan
            self.frame_count = int(stream.frames or 0)

    def __iter__(self) -> Iterator[Frame]:
        with av.open(str(self.path)) as container:
            stream = container.streams.video[0]
            index = 0
            for packet in container.demux(stream):
                try:
                    decoded = packet.decode()
                except av.FFmpegError as error:
                    if packet.size == 0:
                        break
                    LOGGER.warning("%s: frame %d is unreadable (%s), flagged and skipped", self.path, index, error)
                    yield Frame(index, self._time(index, packet.pts, stream.time_base), None, f"{self.path}#{index}")
                    index += 1
                    continue
                for frame in decoded:
                    image = frame.to_ndarray(format="rgb24")
                    yield Frame(index, self._time(index, frame.pts, stream.time_base), image, f"{self.path}#{index}")
                    index += 1

    def _time(self, index: int, pts: int | None, time_base: object) -> float:
        if pts is not None and time_base is not None:
            return float(pts * time_base)
        return index / self.fps if self.fps > 0 else math.nan


class OpenCVSource:
    """A video file decoded with OpenCV: the fallback for containers PyAV refuses."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.stem
        capture = cv2.VideoCapture(str(path))
        try:
            readable = capture.isOpened() and capture.grab()
            self.fps = float(capture.get(cv2.CAP_PROP_FPS)) or math.nan
            self.frame_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        finally:
            capture.release()
        if not readable:
            raise InputError(f"{path}: not a readable video (truncated, or not a video file)")

    def __iter__(self) -> Iterator[Frame]:
        """Every frame up to where the decoder stops; ``CAP_PROP_FRAME_COUNT`` is only the header's claim.

        Failed reads count as unreadable frames only once a later frame decodes: failures at
        the end are the end of the stream, not frames.
        """
        capture = cv2.VideoCapture(str(self.path))
        try:
            index, failed = 0, 0
            while failed < END_OF_STREAM_READS:
                ok, image = capture.read()
                if not ok:
                    failed += 1
                    continue
                for _ in range(failed):
                    LOGGER.warning("%s: frame %d is unreadable, flagged and skipped", self.path, index)
                    yield Frame(index, index / self.fps if self.fps > 0 else math.nan, None, f"{self.path}#{index}")
                    index += 1
                failed = 0
                timestamp = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                yield Frame(index, timestamp, cv2.cvtColor(image, cv2.COLOR_BGR2RGB), f"{self.path}#{index}")
                index += 1
        finally:
            capture.release()


def open_video(path: Path) -> FrameSource:
    """Open a video with PyAV, falling back to OpenCV; ``InputError`` when neither can read it."""
    try:
        return PyAVSource(path)
    except av.FFmpegError as error:
        LOGGER.info("%s: PyAV cannot open it (%s); trying OpenCV", path, error)
        reason = str(error)
    try:
        return OpenCVSource(path)
    except InputError:
        raise InputError(f"{path}: not a readable video (truncated, or not a video file): {reason}") from None


def _image_paths(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key)


def open_input(spec: str | Path, fps: float = math.nan) -> FrameSource:
    """Turn a user's INPUT (video, frame folder, image or glob) into a frame source.

    Args:
        spec: the path or glob pattern as typed.
        fps: frame rate to give still images their timestamps (NaN: no timestamps).

    Raises:
        InputError: the path does not exist, the folder or glob holds no image, or the
            video cannot be opened.
    """
    path = Path(spec)
    if path.is_dir():
        paths = _image_paths(path)
        if not paths:
            raise InputError(f"{path}: the folder holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return ImageListSource(paths, path.name, fps, frame_folder=True)
    if path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return ImageListSource([path], path.stem, fps)
        return open_video(path)
    if GLOB_CHARACTERS.search(str(spec)):
        matches = [Path(p) for p in glob.glob(str(spec), recursive=True)]
        paths = sorted((p for p in matches if p.suffix.lower() in IMAGE_SUFFIXES), key=lambda p: (str(p.parent), _natural_key(p)))
        if not paths:
            raise InputError(f"{spec}: the pattern matches no images")
        return ImageListSource(paths, "images", fps)
    raise InputError(f"{path}: no such file or folder")


_DONE = object()


@dataclass
class _Failure:
    error: BaseException


def prefetch(items: Iterable[T], depth: int = 64) -> Iterator[T]:
    """Iterate ``items`` in a background thread, at most ``depth`` ahead of the consumer.

    The bound keeps memory flat when the consumer (the model) is the slow side; an
    exception in the producer is raised in the consumer, at the point it would have come.
    """
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except Exception as error:  # handed to the consumer, which re-raises it
            put(_Failure(error))

    worker = threading.Thread(target=produce, name="semifer-decode", daemon=True)
    worker.start()
    try:
        while (item := buffer.get()) is not _DONE:
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join(timeout=5)
