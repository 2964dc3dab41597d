"""Image folders: ABAW class sub-folders (any case) or every image unlabeled."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from semifer.data.imagefolder import ImageFolderReader
from semifer.errors import DataFormatError


@pytest.fixture
def folder(tmp_path, make_image, jpeg):
    for name, count in [("happiness", 2), ("Neutral", 1), ("SURPRISE", 1)]:
        (tmp_path / name / "deeper").mkdir(parents=True)
        for index in range(count):
            (tmp_path / name / "deeper" / f"{index}.jpg").write_bytes(jpeg(make_image(index)))
    (tmp_path / "Neutral" / "notes.txt").write_text("not an image")
    return tmp_path


def test_labeled_by_class_folder(folder, make_image, jpeg, pixels_close, caplog):
    (folder / "loose.jpg").write_bytes(jpeg(make_image(9)))
    with caplog.at_level(logging.WARNING):
        reader = ImageFolderReader(folder, labeled=True)
    assert "1 images outside class folders" in caplog.text
    np.testing.assert_array_equal(reader.labels, [0, 6, 4, 4])
    assert reader.key(0) == "Neutral/deeper/0.jpg"
    pixels_close(reader.load(3), make_image(1))


def test_unlabeled_takes_every_image(folder):
    (folder / "loose.jpg").write_bytes(b"")
    reader = ImageFolderReader(folder, labeled=False)
    assert len(reader) == 5 and (reader.labels == -1).all()
    assert reader.key(0) == "loose.jpg" and reader.key(1) == "Neutral/deeper/0.jpg"


def test_unknown_class_folder_is_an_error(folder):
    (folder / "contempt").mkdir()
    with pytest.raises(DataFormatError, match="contempt: sub-folder is not an ABAW class"):
        ImageFolderReader(folder, labeled=True)
