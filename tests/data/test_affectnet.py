"""AffectNet CSV: round trip with box crop and label mapping, headerless CSV, bad rows."""

from __future__ import annotations

import numpy as np
import pytest

from semifer.data.affectnet import AffectNetReader, AffectNetWriter
from semifer.data.base import Box
from semifer.errors import CorruptImageError, DataFormatError


@pytest.fixture
def affectnet(tmp_path, make_image, jpeg):
    scenes = [make_image(seed, 48, 40) for seed in range(4)]
    boxes = [Box(2, 3, 30, 40), Box(0, 0, 40, 48), Box(10, 5, 20, 25), Box(5, 5, 35, 45)]
    codes = [1, 7, 6, 10]  # Happiness, Contempt (unlabeled), Anger, No-Face (unlabeled)
    with AffectNetWriter(tmp_path) as writer:
        for index, (scene, box, code) in enumerate(zip(scenes, boxes, codes)):
            writer.add("train", f"{index % 2}/img{index}.jpg", jpeg(scene), box, code,
                       valence=0.5, arousal=-0.25, landmarks="1.0;2.0")
        writer.add("validation", "9/val.jpg", jpeg(scenes[0]), boxes[0], 0)
    return tmp_path, scenes, boxes


def test_round_trip_boxes_labels_pixels(affectnet, pixels_close):
    root, scenes, boxes = affectnet
    reader = AffectNetReader(root, "train")
    np.testing.assert_array_equal(reader.labels, [4, -1, 1, -1])
    assert [reader.box(i) for i in range(4)] == boxes
    assert reader.key(2) == "0/img2.jpg"
    assert "training.csv:4" in reader.where(2)
    box = boxes[2]
    pixels_close(reader.load(2), scenes[2][box.top : box.bottom, box.left : box.right], 6.0)
    validation = AffectNetReader(root, "validation")
    np.testing.assert_array_equal(validation.labels, [0])


def test_headerless_csv_as_released_for_validation(affectnet):
    root, _, _ = affectnet
    path = root / "Manually_Annotated_file_lists" / "validation.csv"
    path.write_text(path.read_text().split("\n", 1)[1])
    reader = AffectNetReader(root, "validation")
    assert len(reader) == 1 and "validation.csv:1" in reader.where(0)


def test_box_outside_image_names_csv_line(tmp_path, make_image, jpeg):
    with AffectNetWriter(tmp_path) as writer:
        writer.add("train", "a.jpg", jpeg(make_image(0)), Box(0, 0, 10, 10), 0)
        writer.add("train", "b.jpg", jpeg(make_image(1)), Box(20, 20, 40, 40), 0)
    reader = AffectNetReader(tmp_path)
    assert reader.load(0).shape == (10, 10, 3)
    with pytest.raises(CorruptImageError, match=r"training\.csv:3 \(b\.jpg\): face box"):
        reader.load(1)  # skipped and counted by the datasets, like an undecodable image
    skipped = 0
    for index in range(len(reader)):
        try:
            reader.load(index)
        except CorruptImageError:
            skipped += 1
    assert skipped == 1


@pytest.mark.parametrize(("column", "value", "message"), [
    (6, "11", "expression code 11"), (1, "x", "face_x 'x'"), (4, "", "face_height ''"),
])
def test_bad_row_names_line(tmp_path, make_image, jpeg, column, value, message):
    with AffectNetWriter(tmp_path) as writer:
        writer.add("train", "a.jpg", jpeg(make_image(0)), Box(0, 0, 10, 10), 0)
        writer.add("train", "b.jpg", jpeg(make_image(0)), Box(0, 0, 10, 10), 0)
    path = tmp_path / "Manually_Annotated_file_lists" / "training.csv"
    lines = path.read_text().splitlines()
    fields = lines[2].split(",")
    fields[column] = value
    lines[2] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=rf"training\.csv:3: {message}"):
        AffectNetReader(tmp_path)


def test_missing_list_and_unknown_split(tmp_path):
    with pytest.raises(DataFormatError, match="file list not found"):
        AffectNetReader(tmp_path)
    with pytest.raises(DataFormatError, match="unknown AffectNet split"):
        AffectNetReader(tmp_path, "test")


def test_missing_image_file_is_a_corrupt_image(affectnet):
    root, _, _ = affectnet
    (root / "Manually_Annotated_Images" / "0" / "img2.jpg").unlink()
    with pytest.raises(CorruptImageError, match="img2.jpg: unreadable file"):
        AffectNetReader(root).load(2)


def test_unparseable_csv(tmp_path):
    lists = tmp_path / "Manually_Annotated_file_lists"
    lists.mkdir()
    (lists / "training.csv").write_text('a.jpg,1,2,3,4,"unterminated,0,0,0\n')
    with pytest.raises(DataFormatError, match="not an AffectNet CSV"):
        AffectNetReader(tmp_path)


@pytest.mark.parametrize("line", [2, 3])
def test_row_with_an_extra_field_names_line(tmp_path, make_image, jpeg, line):
    with AffectNetWriter(tmp_path) as writer:
        writer.add("train", "a.jpg", jpeg(make_image(0)), Box(0, 0, 10, 10), 0)
        writer.add("train", "b.jpg", jpeg(make_image(0)), Box(0, 0, 10, 10), 0)
    path = tmp_path / "Manually_Annotated_file_lists" / "training.csv"
    lines = path.read_text().splitlines()
    lines[line - 1] += ",extra"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=rf"training\.csv:{line}: expected 9 fields, found 10"):
        AffectNetReader(tmp_path)


def test_non_utf8_csv_names_line(tmp_path, make_image, jpeg):
    with AffectNetWriter(tmp_path) as writer:
        writer.add("train", "a.jpg", jpeg(make_image(0)), Box(0, 0, 10, 10), 0)
        writer.add("train", "b.jpg", jpeg(make_image(0)), Box(0, 0, 10, 10), 0)
    path = tmp_path / "Manually_Annotated_file_lists" / "training.csv"
    path.write_bytes(path.read_bytes().replace(b"b.jpg", b"b\xe9.jpg"))
    with pytest.raises(DataFormatError, match=r"training\.csv:3: byte 0xE9 is not UTF-8"):
        AffectNetReader(tmp_path)
