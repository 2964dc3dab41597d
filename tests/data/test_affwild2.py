"""Aff-Wild2 EXPR: writer/reader round trip, the ABAW quirks, and bad annotation files."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from semifer.abaw.alignment import TAIL_TOLERANCE
from semifer.abaw.annotation import ABAW_HEADER, read_expr_annotation
from semifer.data.affwild2 import (
    AffWild2Frames,
    AffWild2Videos,
    AffWild2Writer,
    find_expr_annotations,
)
from semifer.data.inspect import inspect_folder
from semifer.errors import DataFormatError


@pytest.fixture
def dataset(tmp_path, make_image, jpeg):
    """Two train videos (one a _left/_right pair) and one validation video."""
    writer = AffWild2Writer(tmp_path)
    images = {name: [make_image(i + 10 * n) for i in range(6)]
              for n, name in enumerate(["v1_left", "v1_right", "v2"])}
    frames = {name: [jpeg(image) for image in stack] for name, stack in images.items()}
    frames["v1_left"][1] = None  # frame 2 has no face image
    writer.write_video("train", "v1_left", [0, 1, -1, 4, 7, 7], frames["v1_left"])
    writer.write_video("train", "v1_right", [5, 5, 5, 6, 6, 6], frames["v1_right"],
                       extra_annotation_line=True)
    writer.write_video("Validation_Set", "v2", [3, 2, 1, 0, -1, -1], frames["v2"])
    return tmp_path, images


def test_videos_round_trip(dataset):
    root, _ = dataset
    videos = AffWild2Videos(root, "train")
    assert videos.names == ["v1_left", "v1_right"]
    left = videos.video("v1_left")
    np.testing.assert_array_equal(left.labels, [0, 1, -1, 4, 7, 7])
    np.testing.assert_array_equal(left.has_face, [True, False, True, True, True, True])
    assert left.frame_paths[0] == root / "cropped_aligned" / "v1_left" / "00001.jpg"
    assert [video.name for video in videos] == ["v1_left", "v1_right"]
    assert AffWild2Videos(root, "validation")[0].name == "v2"


def test_extra_annotation_line_is_dropped(dataset, caplog):
    root, _ = dataset
    with caplog.at_level(logging.DEBUG):
        right = AffWild2Videos(root, "Train_Set").video("v1_right")
    np.testing.assert_array_equal(right.labels, [5, 5, 5, 6, 6, 6])
    assert "one line longer" in caplog.text


def test_frames_reader_round_trip(dataset, pixels_close):
    root, images = dataset
    reader = AffWild2Frames(root, "train")
    # 5 of 6 frames of v1_left have images, all 6 of v1_right.
    assert len(reader) == 11
    np.testing.assert_array_equal(reader.labels, [0, -1, 4, 7, 7, 5, 5, 5, 6, 6, 6])
    assert reader.key(1) == "v1_left/00003.jpg"
    assert reader.missing_faces == 1
    pixels_close(reader.load(1), images["v1_left"][2])
    pixels_close(reader.load(10), images["v1_right"][5])


def test_missing_tail_within_tolerance_is_missing_faces(tmp_path, make_image, jpeg):
    writer = AffWild2Writer(tmp_path)
    writer.write_video("train", "v", [1, 2], [jpeg(make_image(0)), jpeg(make_image(1))])
    path = tmp_path / "annotations" / "Train_Set" / "v.txt"
    path.write_text(path.read_text() + "3\n4\n5\n")
    video = AffWild2Videos(tmp_path, "train").video("v")
    np.testing.assert_array_equal(video.labels, [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(video.has_face, [True, True, False, False, False])


def test_annotation_far_longer_than_images_names_video_and_counts(tmp_path, make_image, jpeg):
    writer = AffWild2Writer(tmp_path)
    writer.write_video("train", "long", [0, 0], [jpeg(make_image(0)), jpeg(make_image(1))])
    path = tmp_path / "annotations" / "Train_Set" / "long.txt"
    path.write_text(path.read_text() + "0\n" * (TAIL_TOLERANCE + 5))
    with pytest.raises(DataFormatError, match=rf"long has {TAIL_TOLERANCE + 7} .* frame 2"):
        AffWild2Frames(tmp_path, "train")


def test_frames_beyond_annotation_are_ignored(tmp_path, make_image, jpeg, caplog):
    writer = AffWild2Writer(tmp_path)
    writer.write_video("train", "v", [4, 4, 4], [jpeg(make_image(i)) for i in range(3)])
    (tmp_path / "cropped_aligned" / "v" / "00009.jpg").write_bytes(jpeg(make_image(9)))
    with caplog.at_level(logging.WARNING):
        reader = AffWild2Frames(tmp_path, "train")
    assert len(reader) == 3
    assert "beyond" in caplog.text


def test_separate_annotation_and_image_folders(dataset):
    root, _ = dataset
    videos = AffWild2Videos(root / "elsewhere", "train", annotations=root / "annotations",
                            images=root / "cropped_aligned")
    assert videos.video("v1_left").has_face.sum() == 5


def test_bad_header_names_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("Neutral,Anger,Disgust,Fear,Happy,Sadness,Surprise,Other\n0\n")
    with pytest.raises(DataFormatError, match=r"bad\.txt:1: header"):
        read_expr_annotation(path)


@pytest.mark.parametrize("bad", ["8", "-2", "x", "1.5"])
def test_label_outside_range_names_line(tmp_path, bad):
    path = tmp_path / "labels.txt"
    path.write_text(f"{ABAW_HEADER}\n0\n-1\n{bad}\n3\n")
    with pytest.raises(DataFormatError, match=rf"labels\.txt:4: label '{bad}'"):
        read_expr_annotation(path)


def test_annotation_reader_accepts_crlf_and_trailing_blank(tmp_path):
    path = tmp_path / "ok.txt"
    path.write_text(f"{ABAW_HEADER}\r\n0\r\n-1\r\n7\r\n\r\n")
    np.testing.assert_array_equal(read_expr_annotation(path), [0, -1, 7])


def test_unknown_split_and_missing_folder(tmp_path):
    with pytest.raises(DataFormatError, match="unknown Aff-Wild2 split"):
        AffWild2Videos(tmp_path, "test")
    with pytest.raises(DataFormatError, match="annotation folder not found"):
        AffWild2Videos(tmp_path, "train")


def test_writer_rejects_missing_last_face(tmp_path, make_image, jpeg):
    with pytest.raises(ValueError, match="last frame"):
        AffWild2Writer(tmp_path).write_video("train", "v", [0, 0], [jpeg(make_image(0)), None])


def test_unknown_video_and_binary_annotation(dataset):
    root, _ = dataset
    videos = AffWild2Videos(root, "train")
    with pytest.raises(DataFormatError, match="nope.txt: cannot read the annotation"):
        videos.video("nope")
    (root / "annotations" / "Train_Set" / "v1_left.txt").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(DataFormatError, match="v1_left.txt: cannot read the annotation"):
        AffWild2Frames(root, "train")


def test_real_abaw_layout_is_found(tmp_path, make_image, jpeg):
    """Annotations nested as in the ABAW release, next to the VA challenge folder."""
    frames = [jpeg(make_image(0))] * 2
    AffWild2Writer(tmp_path / "staging").write_video("train", "v", [2, 3], frames)
    root = tmp_path / "abaw"
    nested = root / "6th_ABAW_Annotations" / "EXPR_Recognition_Challenge"
    nested.parent.mkdir(parents=True)
    (tmp_path / "staging" / "annotations").rename(nested)
    (root / "6th_ABAW_Annotations" / "VA_Estimation_Challenge" / "Train_Set").mkdir(parents=True)
    (tmp_path / "staging" / "cropped_aligned").rename(root / "cropped_aligned")
    assert find_expr_annotations(root) == nested
    np.testing.assert_array_equal(AffWild2Frames(root, "train").labels, [2, 3])
    summary = inspect_folder(root).sources[0]
    assert (summary.format, summary.split, summary.frames) == ("affwild2", "train", 2)
