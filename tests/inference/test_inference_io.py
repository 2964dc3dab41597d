"""Frame sources: videos, folders, images and globs; unreadable frames; background decoding."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from inference_helpers import face_frames, write_truncated_video, write_video

from semifer.errors import InputError
from semifer.inference.video_io import ImageListSource, OpenCVSource, open_input, prefetch


def test_video_yields_every_frame_with_timestamps(face_video: Path) -> None:
    frames = list(open_input(face_video))
    assert [f.index for f in frames] == list(range(40))
    assert frames[0].image is not None and frames[0].image.shape == (240, 320, 3)
    assert frames[5].timestamp == pytest.approx(5 / 25)


def test_opencv_fallback_reads_the_same_frames(face_video: Path) -> None:
    frames = list(OpenCVSource(face_video))
    assert len(frames) == 40 and all(f.image is not None for f in frames)


def test_frame_folder_is_in_natural_order(tmp_path: Path) -> None:
    image = face_frames(1)[0]
    for number in (10, 9, 1):
        cv2.imwrite(str(tmp_path / f"frame{number}.png"), image)
    source = open_input(tmp_path, fps=10)
    assert isinstance(source, ImageListSource)
    frames = list(source)
    assert [Path(f.location).name for f in frames] == ["frame1.png", "frame9.png", "frame10.png"]
    assert frames[2].timestamp == pytest.approx(0.2)


def test_glob_and_single_image(tmp_path: Path) -> None:
    for name in ("a.jpg", "b.jpg", "c.txt"):
        cv2.imwrite(str(tmp_path / name), face_frames(1)[0]) if name.endswith("jpg") else (tmp_path / name).write_text("x")
    assert len(list(open_input(str(tmp_path / "*")))) == 2
    single = list(open_input(tmp_path / "a.jpg"))
    assert len(single) == 1 and math.isnan(single[0].timestamp)


def test_unreadable_image_in_a_folder_is_flagged_not_fatal(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "1.jpg"), face_frames(1)[0])
    (tmp_path / "2.jpg").write_bytes(b"not a jpeg")
    cv2.imwrite(str(tmp_path / "3.jpg"), face_frames(1)[0])
    assert [f.image is None for f in open_input(tmp_path)] == [False, True, False]


def test_corrupt_frame_in_the_middle_of_a_video_is_skipped_and_flagged(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.avi", face_frames(12), codec="mjpeg")
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xD8]  # JPEG starts
    middle = starts[6]
    data[middle : middle + 600] = bytes(600)  # wipe the header of frame 6's JPEG
    path.write_bytes(bytes(data))
    for source in (open_input(path), OpenCVSource(path)):
        frames = list(source)
        assert len(frames) == 12
        assert [f.index for f in frames if f.image is None] == [6]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.mp4", "no such file"),
        (lambda p: (p / "notes.mp4").write_text("hello") and p / "notes.mp4", "not a readable video"),
        (lambda p: p, "holds no images"),
        (lambda p: str(p / "*.jpg"), "matches no images"),
    ],
)
def test_bad_inputs_raise_input_error(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=message):
        open_input(make(tmp_path))


def test_truncated_video_is_an_input_error(face_video: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(face_video.read_bytes()[: face_video.stat().st_size // 3])
    with pytest.raises(InputError, match="truncated"):
        list(open_input(truncated))


def test_prefetch_keeps_order_and_reraises_in_the_consumer() -> None:
    assert list(prefetch(range(200), depth=4)) == list(range(200))

    def failing():  # type: ignore[no-untyped-def]
        yield 1
        raise ValueError("decoder broke")

    with pytest.raises(ValueError, match="decoder broke"):
        list(prefetch(failing()))


def test_prefetch_stops_its_thread_when_the_consumer_stops() -> None:
    produced: list[int] = []

    def counting():  # type: ignore[no-untyped-def]
        for i in range(10_000):
            produced.append(i)
            yield np.zeros(1)

    stream = prefetch(counting(), depth=2)
    next(stream)
    stream.close()
    assert len(produced) < 10


def test_numbered_frame_folder_keeps_frame_numbers_and_gaps(tmp_path: Path) -> None:
    image = face_frames(1)[0]
    for number in (1, 2, 5):  # like cropped_aligned: frames 3 and 4 had no face image
        cv2.imwrite(str(tmp_path / f"{number:05d}.jpg"), image)
    frames = list(open_input(tmp_path))
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    assert [f.missing for f in frames] == [False, False, True, True, False]
    assert frames[4].image is not None and frames[2].image is None


def test_glob_of_numbered_images_gives_one_frame_per_file(tmp_path: Path) -> None:
    image = face_frames(1)[0]
    for name in ("a/00001.jpg", "a/00005.jpg", "b/00001.jpg"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / name), image)
    frames = list(open_input(str(tmp_path / "*" / "*.jpg")))
    assert [Path(f.location).relative_to(tmp_path).as_posix() for f in frames] == ["a/00001.jpg", "a/00005.jpg", "b/00001.jpg"]
    assert [f.index for f in frames] == [0, 1, 2] and not any(f.missing for f in frames)


def test_opencv_fallback_reads_until_the_decoder_stops(tmp_path: Path) -> None:
    path = write_truncated_video(tmp_path / "cut.mp4", face_frames(40))
    source = OpenCVSource(path)
    frames = list(source)
    assert source.frame_count == 40  # what the header claims
    assert 0 < len(frames) < 40 and frames[-1].image is not None  # no phantom unreadable frames at the end
