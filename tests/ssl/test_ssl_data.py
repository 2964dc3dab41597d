"""Building the stage-1 pools from configured sources (image folders on disk)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from semifer.errors import ConfigError
from semifer.ssl.config import DataConfig, SourceEntry
from semifer.ssl.data import build_data


def _folder(root: Path, classes: dict[str, int]) -> None:
    for name, count in classes.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            cv2.imwrite(str(root / name / f"{i}.png"), np.full((8, 8, 3), 40 * i, dtype=np.uint8))


def test_pools_from_root_relative_sources(tmp_path: Path) -> None:
    _folder(tmp_path / "faces", {"happiness": 3, "neutral": 2})
    _folder(tmp_path / "extra", {"x": 4})
    config = DataConfig(
        root=str(tmp_path),
        sources=[
            SourceEntry(format="imagefolder", path="faces", use="labeled"),
            SourceEntry(format="imagefolder", path="extra/x", use="unlabeled", fraction=0.5),
        ],
    )
    data = build_data(config, seed=0)
    assert len(data.labeled) == 5 and sorted(set(data.labeled.labels)) == [0, 4]
    assert len(data.unlabeled) == 2 and (data.unlabeled.labels == -1).all()
    assert data.labeled.load(0).shape == (8, 8, 3)


def test_missing_and_empty_sources_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"data.sources\[0\].path does not exist"):
        build_data(DataConfig(sources=[SourceEntry(path=str(tmp_path / "nope"))]), seed=0)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"data.sources\[0\]: .*no imagefolder images"):
        build_data(DataConfig(sources=[SourceEntry(path=str(tmp_path / "empty"), use="unlabeled")]), seed=0)


def test_split_sources_give_per_class_labeled_images_from_their_merged_pool(tmp_path: Path) -> None:
    _folder(tmp_path / "affectnet", {"happiness": 5, "sadness": 4})
    _folder(tmp_path / "expw", {"happiness": 6, "sadness": 1})
    config = DataConfig(
        root=str(tmp_path),
        per_class=3,
        sources=[
            SourceEntry(format="imagefolder", path="affectnet", use="split"),
            SourceEntry(format="imagefolder", path="expw", use="split"),
        ],
    )
    data = build_data(config, seed=0)
    counts = np.bincount(data.labeled.labels, minlength=8)
    assert counts[4] == 3 and counts[5] == 3  # per class over both sources, not 3 from each
    assert len(data.labeled) + len(data.unlabeled) == 16
    draws = {(reader.source, len(items)) for reader, items in data.labeled.parts}
    assert sum(n for _, n in draws) == 6
