"""ExpW label.lst: several faces per image, box crop, label mapping, bad lines."""

from __future__ import annotations

import numpy as np
import pytest

from semifer.data.base import Box
from semifer.data.expw import ExpWReader, ExpWWriter
from semifer.errors import CorruptImageError, DataFormatError


@pytest.fixture
def expw(tmp_path, make_image, jpeg):
    scenes = [make_image(0, 60, 80), make_image(1, 50, 50)]
    faces = [
        [(0, Box(5, 6, 35, 40), 0.9, 3), (1, Box(40, 10, 75, 50), 0.7, 0)],
        [(0, Box(0, 0, 50, 50), 1.0, 6)],
    ]
    with ExpWWriter(tmp_path) as writer:
        writer.add_image("scene_a.jpg", jpeg(scenes[0]), faces[0])
        writer.add_image("scene_b.jpg", jpeg(scenes[1]), faces[1])
    return tmp_path, scenes, faces


def test_round_trip_faces(expw, pixels_close):
    root, scenes, faces = expw
    reader = ExpWReader(root)
    assert len(reader) == 3
    np.testing.assert_array_equal(reader.labels, [4, 1, 0])  # happy, angry, neutral
    assert [reader.key(i) for i in range(3)] == ["scene_a.jpg#0", "scene_a.jpg#1", "scene_b.jpg#0"]
    assert reader.box(1) == faces[0][1][1]
    box = faces[0][1][1]
    pixels_close(reader.load(1), scenes[0][box.top : box.bottom, box.left : box.right], 6.0)


@pytest.mark.parametrize(("line", "message"), [
    ("scene_a.jpg 0 1 2 3", "expected 8 fields, found 5"),
    ("scene_a.jpg 0 1 2 3 4 0.5 7", "expression code 7"),
    ("scene_a.jpg 0 a 2 3 4 0.5 1", "non-numeric field"),
])
def test_bad_line_names_file_and_line(expw, line, message):
    root, _, _ = expw
    path = root / "label" / "label.lst"
    path.write_text(path.read_text() + line + "\n")
    with pytest.raises(DataFormatError, match=rf"label\.lst:4: {message}"):
        ExpWReader(root)


def test_box_outside_scene_names_line(tmp_path, make_image, jpeg):
    with ExpWWriter(tmp_path) as writer:
        writer.add_image("s.jpg", jpeg(make_image(0)), [(0, Box(10, 10, 64, 20), 0.5, 1)])
    with pytest.raises(CorruptImageError, match=r"label\.lst:1 \(s\.jpg\): face box"):
        ExpWReader(tmp_path).load(0)


def test_non_utf8_label_list_names_line(expw):
    root, _, _ = expw
    path = root / "label" / "label.lst"
    path.write_bytes(path.read_bytes() + b"sc\xe8ne.jpg 0 1 2 3 4 0.5 1\n")
    with pytest.raises(DataFormatError, match=r"label\.lst:4: byte 0xE8 is not UTF-8"):
        ExpWReader(root)
