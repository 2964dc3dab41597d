"""Where the clips of a video start: the one tiling shared by training and inference.

Clips start every ``stride`` frames and one more clip is aligned to the end of the video, so
the last frames are always covered by a full-length clip; a video shorter than the clip is
one clip of its own length.
"""

from __future__ import annotations

import numpy as np


def clip_starts(frames: int, clip_length: int, stride: int) -> np.ndarray:
    """Start frame of every clip covering ``frames`` frames (int64, ascending, unique)."""
    if clip_length < 1 or stride < 1:
        raise ValueError(f"clip_length and stride must be positive, got {clip_length} and {stride}")
    if frames <= clip_length:
        return np.zeros(1 if frames > 0 else 0, dtype=np.int64)
    last = frames - clip_length
    starts = np.arange(0, last + 1, stride, dtype=np.int64)
    if starts[-1] != last:
        starts = np.append(starts, last)
    return starts
