"""One place that turns a source entry of a run config into a ``FaceReader``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from semifer.data.affectnet import AffectNetReader
from semifer.data.affwild2 import AffWild2Frames
from semifer.data.base import FaceReader
from semifer.data.expw import ExpWReader
from semifer.data.imagefolder import ImageFolderReader
from semifer.data.recordio import RecordIOReader
from semifer.errors import DataFormatError
from semifer.labels import UNLABELED


@dataclass
class SourceConfig:
    """A data source of a stage-1 run (plain fields, so OmegaConf can type-check it).

    ``labeled: false`` serves a labeled data set as unlabeled images (its labels become -1);
    for ``imagefolder`` it also picks the layout (class sub-folders or any images).
    """

    format: str
    path: str
    split: str = "train"
    labeled: bool = True


class Format(StrEnum):
    """The on-disk formats a run config can name (an Enum: a typo stops the config at load)."""

    affwild2 = "affwild2"
    affectnet = "affectnet"
    expw = "expw"
    ms1mv2 = "ms1mv2"
    imagefolder = "imagefolder"


OPENERS: dict[str, Callable[[Path, SourceConfig], FaceReader]] = {
    Format.affwild2: lambda path, config: AffWild2Frames(path, config.split),
    Format.affectnet: lambda path, config: AffectNetReader(path, config.split),
    Format.expw: lambda path, config: ExpWReader(path),
    Format.ms1mv2: lambda path, config: RecordIOReader(path),
    Format.imagefolder: lambda path, config: ImageFolderReader(path, config.labeled),
}
FORMATS = tuple(format.value for format in Format)


def open_reader(config: SourceConfig) -> FaceReader:
    """Open the reader ``config`` names; a missing path or an empty source is a DataFormatError."""
    opener = OPENERS.get(config.format)
    if opener is None:
        raise DataFormatError(
            f"unknown data format {config.format!r} for {config.path}; known: {', '.join(FORMATS)}"
        )
    path = Path(config.path)
    if not path.exists():
        raise DataFormatError(f"{path}: {config.format} data not found")
    reader = opener(path, config)
    if len(reader) == 0:
        raise DataFormatError(f"{path}: no {config.format} images in split {config.split!r}")
    if not config.labeled and config.format != "imagefolder":
        reader.labels = np.full(len(reader), UNLABELED, dtype=np.int64)  # served as unlabeled images
    return reader
