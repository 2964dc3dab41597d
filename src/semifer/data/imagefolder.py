"""Plain image folders: labeled by ABAW class-name sub-folders, or unlabeled (every image).

A labeled folder looks like torchvision's ImageFolder, ``root/<Class>/**/*.jpg``, but the
class names must be ABAW names (any case), so that no folder order can silently relabel
anything; a sub-folder with another name is an error.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from semifer.data.base import FaceReader, read_file
from semifer.errors import DataFormatError
from semifer.labels import ABAW_CLASSES, UNLABELED

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
CLASS_BY_NAME = {name.lower(): index for index, name in enumerate(ABAW_CLASSES)}

logger = logging.getLogger(__name__)


def _images_under(folder: Path) -> list[str]:
    """Image paths under ``folder``, relative to it, sorted so item order is reproducible."""
    found: list[str] = []
    for directory, subfolders, files in os.walk(folder):
        subfolders.sort()
        relative = os.path.relpath(directory, folder)
        for name in sorted(files):
            if name.lower().endswith(IMAGE_SUFFIXES):
                found.append(name if relative == "." else os.path.join(relative, name))
    return found


class ImageFolderReader(FaceReader):
    """Images under ``root``; ``labeled`` picks class sub-folders or all images as unlabeled."""

    source = "imagefolder"

    def __init__(self, root: Path | str, labeled: bool) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataFormatError(f"{self.root}: image folder not found")
        labels: list[int] = []
        paths: list[str] = []
        if labeled:
            loose = 0
            for entry in sorted(os.scandir(self.root), key=lambda entry: entry.name):
                if not entry.is_dir():
                    loose += entry.name.lower().endswith(IMAGE_SUFFIXES)
                    continue
                if entry.name.lower() not in CLASS_BY_NAME:
                    raise DataFormatError(
                        f"{entry.path}: sub-folder is not an ABAW class; expected one of "
                        f"{', '.join(ABAW_CLASSES)} (any case)"
                    )
                found = _images_under(Path(entry.path))
                paths.extend(os.path.join(entry.name, path) for path in found)
                labels.extend([CLASS_BY_NAME[entry.name.lower()]] * len(found))
            if loose:
                logger.warning("%s: %d images outside class folders are ignored", self.root, loose)
        else:
            paths = _images_under(self.root)
            labels = [UNLABELED] * len(paths)
        self._paths = np.array(paths, dtype=object)
        self.labels = np.array(labels, dtype=np.int64)
        self._prefix = f"{self.root}{os.sep}"

    def key(self, index: int) -> str:
        return str(self._paths[index])

    def where(self, index: int) -> str:
        return self._prefix + self._paths[index]

    def read_bytes(self, index: int) -> bytes:
        return read_file(self.where(index))
