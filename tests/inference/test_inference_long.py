"""A long video through the whole pipeline (slow: run by ``make test-slow``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from inference_helpers import FRAME_SIZE, draw_face, write_video

from semifer import Recognizer
from semifer.inference.video_io import OpenCVSource


def drifting_face(count: int, no_face: range) -> list[np.ndarray]:
    """``count`` frames of one face moving back and forth; frames in ``no_face`` show only background."""
    frames = []
    for index in range(count):
        frame = np.full((*FRAME_SIZE, 3), 90, np.uint8)
        if index not in no_face:
            left = 40 + 2 * abs(index % 120 - 60)
            frame[50:170, left : left + 120] = draw_face(120, smile=(index % 50) / 50)
        frames.append(frame)
    return frames


@pytest.mark.slow
def test_long_video_with_both_decoders_gives_a_row_per_frame(checkpoints, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    video = write_video(tmp_path / "long.mp4", drifting_face(400, no_face=range(100, 130)))
    recognizer = Recognizer.from_checkpoint(checkpoints["stage2"])
    for source in (video, OpenCVSource(video)):
        table = recognizer.predict_video(source)
        assert table["frame"].tolist() == list(range(400))
        assert table.loc[table["no_face"], "frame"].tolist() == list(range(100, 130))
        assert not table["unreadable"].any() and table.attrs["frames_decoded"] == 400
        assert (table.groupby(table["frame"] // 30)["label"].nunique() == 1).all()  # the paper's 30-frame vote
