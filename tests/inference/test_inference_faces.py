"""Detection, tracking and alignment on drawn faces."""

from __future__ import annotations

import numpy as np
import pytest
from inference_helpers import draw_face, face_frames

from semifer.errors import ConfigError
from semifer.inference.align import align_face, measure_margin
from semifer.inference.detect import Detection, build_detector
from semifer.inference.track import IoUTracker, MainFaceTracker, iou


def test_haar_finds_the_drawn_face_where_it_is() -> None:
    frames = face_frames(5)
    detections = [build_detector("haar").detect(frame) for frame in frames]
    assert all(len(found) == 1 for found in detections)
    left, top, right, bottom = detections[0][0].box
    assert 30 <= left <= 80 and 40 <= top <= 90 and right - left == pytest.approx(bottom - top, rel=0.1)


def test_haar_finds_nothing_in_an_empty_frame() -> None:
    assert build_detector("haar").detect(np.full((240, 320, 3), 90, np.uint8)) == []


def test_unknown_or_unconfigured_detectors_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown detector"):
        build_detector("retina")
    with pytest.raises(ConfigError, match="ONNX file"):
        build_detector("yunet")


def _detection(left: float, top: float, size: float) -> Detection:
    return Detection((left, top, left + size, top + size), 1.0)


def test_tracker_keeps_ids_through_motion_and_short_gaps() -> None:
    tracker = IoUTracker(max_gap=2)
    first = tracker.update(0, [_detection(0, 0, 50), _detection(200, 0, 50)])
    moved = tracker.update(1, [_detection(205, 0, 50), _detection(4, 0, 50)])
    assert {tid for tid, _ in first} == {0, 1}
    assert [tid for tid, _ in moved] == [1, 0]
    assert tracker.update(3, [_detection(6, 0, 50)])[0][0] == 0  # back after a 1-frame gap
    assert tracker.update(7, [_detection(6, 0, 50)])[0][0] == 2  # gone too long: a new track


def test_main_face_is_the_largest_and_does_not_jump_to_a_bystander() -> None:
    main = MainFaceTracker(IoUTracker(max_gap=3))
    assert main.update(0, [_detection(0, 0, 30), _detection(100, 0, 80)])[0][1].area == 80 * 80
    assert main.update(1, [_detection(0, 0, 30)]) == []  # main face missed: no face, not the bystander
    assert main.update(2, [_detection(101, 0, 80), _detection(0, 0, 30)])[0][0] == 1
    assert main.update(9, [_detection(0, 0, 30)])[0][1].area == 30 * 30  # main gone for good: switch


def test_iou() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(1 / 3)
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0


def test_align_crops_the_box_centre_and_levels_the_eyes() -> None:
    image = np.zeros((300, 300, 3), np.uint8)
    image[100:200, 100:200] = draw_face(100)
    crop = align_face(image, Detection((100, 100, 200, 200), 1.0), size=112, margin=1.0)
    assert crop.shape == (112, 112, 3)
    assert np.abs(crop.astype(int) - draw_face(112).astype(int)).mean() < 20
    tilted = np.zeros((200, 200, 3), np.uint8)
    eyes = np.array([[70, 80], [130, 120], [0, 0], [0, 0], [0, 0]], np.float32)  # eye line tilted by 34 degrees
    for (x, y), channel in zip(eyes[:2].astype(int), (0, 2), strict=True):
        tilted[y - 3 : y + 4, x - 3 : x + 4, channel] = 255
    level = align_face(tilted, Detection((50, 50, 150, 150), 1.0, eyes), size=100, margin=1.0)
    first_eye, second_eye = (np.argwhere(level[..., channel] > 100).mean(axis=0) for channel in (0, 2))
    assert first_eye[0] == pytest.approx(second_eye[0], abs=1.5)  # same row: the eyes are level
    assert first_eye[1] < second_eye[1]


def test_between_full_detections_faces_are_found_near_their_last_box() -> None:
    from semifer.inference.pipeline import locate_faces
    from semifer.inference.track import MainFaceTracker
    from semifer.inference.video_io import Frame

    haar = build_detector("haar")
    sizes: list[int] = []

    class Spy:
        def detect(self, image: np.ndarray) -> list[Detection]:
            sizes.append(max(image.shape[:2]))
            return haar.detect(image)

    frames = [Frame(i, i / 25, image, f"#{i}") for i, image in enumerate(face_frames(11))]
    every_frame = list(locate_faces(frames, haar, MainFaceTracker(), margin=1.3, detect_every=1))
    sparse = list(locate_faces(frames, Spy(), MainFaceTracker(), margin=1.3, detect_every=5))
    assert [size == 320 for size in sizes] == [i % 5 == 0 for i in range(11)]  # full frame on 0, 5, 10 only
    assert max(sizes[1:5]) <= 128  # small windows in between
    for full, near in zip(every_frame, sparse, strict=True):
        assert iou(full.faces[0][1].box, near.faces[0][1].box) > 0.7
        assert near.crops[0].shape == (112, 112, 3)


def _framed(face_side: int, crop_side: int) -> np.ndarray:
    """A drawn face of ``face_side`` pixels centred in a ``crop_side`` crop."""
    crop = np.full((crop_side, crop_side, 3), 60, np.uint8)
    start = (crop_side - face_side) // 2
    crop[start : start + face_side, start : start + face_side] = draw_face(face_side)
    return crop


def test_measured_margin_follows_the_framing_of_the_crops() -> None:
    detector = build_detector()
    tight = measure_margin(detector, [_framed(100, 112)] * 2)
    loose = measure_margin(detector, [_framed(70, 112)] * 2)
    assert loose / tight == pytest.approx(100 / 70, rel=0.15)
    with pytest.raises(ValueError, match="no face"):
        measure_margin(detector, [np.full((112, 112, 3), 90, np.uint8)])
