"""Frame images of a predicted video: decoded once into numbered JPEG files the page loads on demand.

Frames are decoded by ``semifer.inference.video_io.open_video``, the decoder ``predict`` used,
so frame ``i`` on disk is row ``frame == i`` of its table (another decoder can count a broken
packet differently), and written with OpenCV.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2

from semifer.inference.video_io import open_video
from semifer.review.video import FrameImages

logger = logging.getLogger(__name__)

# Frames wider than this are scaled down: a review of a long 1080p video stays at ~30 KB a
# frame instead of ~200 KB, and the viewer shows frames at about this size anyway.
MAX_WIDTH = 640
JPEG_QUALITY = 85


def frame_images(folder: Path) -> FrameImages:
    """Where ``extract_frames`` puts frame ``i``: ``folder/%06d.jpg``, counted from 0 like ``predict``."""
    return FrameImages(Path(folder), first=0, digits=6)


def extract_frames(video: Path, folder: Path, frames: int) -> tuple[int, int] | None:
    """Write the first ``frames`` frames of ``video`` as JPEG files; returns the frame size (width, height).

    Unreadable frames get no file (the page says which file is missing). ``None`` when no
    frame could be decoded.
    """
    images = frame_images(folder)
    images.folder.mkdir(parents=True, exist_ok=True)
    size: tuple[int, int] | None = None
    decoded = 0
    for frame in open_video(Path(video)):
        if frame.index >= frames:
            logger.warning("%s has more frames than its %d predicted ones; the rest are not shown", video, frames)
            break
        decoded = frame.index + 1
        if frame.image is None:
            continue
        height, width = frame.image.shape[:2]
        size = size or (width, height)
        image = cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR)
        if width > MAX_WIDTH:
            image = cv2.resize(image, (MAX_WIDTH, round(height * MAX_WIDTH / width)), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(images.path(frame.index)), image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if decoded < frames:
        logger.warning("%s: %d frames decoded for %d predicted ones; the others show as missing", video, decoded, frames)
    return size
