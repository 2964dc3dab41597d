"""open_reader: every format by name, unlabeled views, and clear errors for bad entries."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from semifer.data.affectnet import AffectNetWriter
from semifer.data.base import Box
from semifer.data.sources import FORMATS, SourceConfig, open_reader
from semifer.errors import DataFormatError


def test_labeled_and_unlabeled_affectnet(tmp_path, make_image, jpeg, pixels_close):
    with AffectNetWriter(tmp_path) as writer:
        writer.add("train", "a.jpg", jpeg(make_image(0)), Box(0, 0, 32, 32), 1)
    labeled = open_reader(SourceConfig("affectnet", str(tmp_path)))
    np.testing.assert_array_equal(labeled.labels, [4])
    hidden = open_reader(SourceConfig("affectnet", str(tmp_path), labeled=False))
    np.testing.assert_array_equal(hidden.labels, [-1])
    assert hidden.key(0) == "a.jpg" and hidden.source == "affectnet"
    pixels_close(hidden.load(0), make_image(0))


def test_structured_config_round_trip():
    config = OmegaConf.to_object(OmegaConf.structured(SourceConfig("expw", "/data/expw")))
    assert config == SourceConfig("expw", "/data/expw", "train", True)


def test_errors_name_path_and_formats(tmp_path):
    with pytest.raises(DataFormatError, match="known: " + ", ".join(FORMATS)):
        open_reader(SourceConfig("celeba", str(tmp_path)))
    with pytest.raises(DataFormatError, match="nowhere: expw data not found"):
        open_reader(SourceConfig("expw", str(tmp_path / "nowhere")))
    with pytest.raises(DataFormatError, match="no imagefolder images"):
        open_reader(SourceConfig("imagefolder", str(tmp_path), labeled=False))
