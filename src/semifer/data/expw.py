"""ExpW: ``label/label.lst`` face lines over the scene images in ``image/origin/``.

Each line is ``image_name face_id top left right bottom confidence label``; one image can
hold several faces, each its own item, cropped ``img[top:bottom, left:right]``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import numpy as np

from semifer.data.base import Box, ClosingWriter, FaceReader, non_utf8_error, read_file
from semifer.errors import DataFormatError
from semifer.labels import EXPW_CODES, expw_to_abaw

LABEL_FILE = Path("label") / "label.lst"
IMAGE_FOLDER = Path("image") / "origin"
FIELDS = 8


class ExpWReader(FaceReader):
    """All ExpW faces, one item per line of ``label.lst`` (parsed once; images on demand)."""

    source = "expw"

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.label_path = self.root / LABEL_FILE
        if not self.label_path.is_file():
            raise DataFormatError(f"{self.label_path}: ExpW label list not found")
        names: list[str] = []
        face_ids: list[int] = []
        boxes: list[tuple[int, int, int, int]] = []
        codes: list[int] = []
        lines: list[int] = []
        with self.label_path.open(encoding="utf-8") as handle:
            try:
                for number, line in enumerate(handle, start=1):
                    fields = line.split()
                    if not fields:
                        continue
                    name, face_id, top, left, right, bottom, code = self._parse(fields, number)
                    names.append(name)
                    face_ids.append(face_id)
                    boxes.append((left, top, right, bottom))
                    codes.append(code)
                    lines.append(number)
            except UnicodeDecodeError:
                raise non_utf8_error(self.label_path) from None
        self._names = np.array(names, dtype=object)
        self._face_ids = np.array(face_ids, dtype=np.int64)
        self._boxes = np.array(boxes, dtype=np.int64).reshape(-1, 4)
        self._lines = np.array(lines, dtype=np.int64)
        self.expression_codes = np.array(codes, dtype=np.int64)
        mapping = np.array([expw_to_abaw(code) for code in range(EXPW_CODES)], dtype=np.int64)
        self.labels = mapping[self.expression_codes]
        self._where_prefix = str(self.label_path)
        self._image_prefix = f"{self.root / IMAGE_FOLDER}{os.sep}"

    def _parse(self, fields: list[str], number: int) -> tuple[str, int, int, int, int, int, int]:
        """Check one line; returns name, face id, top, left, right, bottom and the ExpW code."""
        where = f"{self.label_path}:{number}"
        if len(fields) != FIELDS:
            raise DataFormatError(f"{where}: expected {FIELDS} fields, found {len(fields)}")
        try:
            face_id, top, left, right, bottom = (int(value) for value in fields[1:6])
            float(fields[6])
            code = int(fields[7])
        except ValueError:
            raise DataFormatError(f"{where}: non-numeric field in {' '.join(fields)!r}") from None
        if not 0 <= code < EXPW_CODES:
            raise DataFormatError(f"{where}: expression code {code} is outside 0..{EXPW_CODES - 1}")
        return fields[0], face_id, top, left, right, bottom, code

    def key(self, index: int) -> str:
        return f"{self._names[index]}#{int(self._face_ids[index])}"

    def where(self, index: int) -> str:
        return f"{self._where_prefix}:{int(self._lines[index])} ({self._names[index]})"

    def box(self, index: int) -> Box:
        return Box(*self._boxes[index].tolist())

    def image_file(self, index: int) -> str:
        """Path of item ``index``'s image (``semifer inspect`` reads its size from the header)."""
        return self._image_prefix + self._names[index]

    def read_bytes(self, index: int) -> bytes:
        return read_file(self.image_file(index))


class ExpWWriter(ClosingWriter):
    """Writes scene images and their face lines in the ExpW layout (a context manager)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        (self.root / IMAGE_FOLDER).mkdir(parents=True, exist_ok=True)
        (self.root / LABEL_FILE).parent.mkdir(parents=True, exist_ok=True)
        self._labels: TextIO = (self.root / LABEL_FILE).open("w", encoding="utf-8")

    def add_image(
        self, name: str, image: bytes, faces: Sequence[tuple[int, Box, float, int]]
    ) -> None:
        """Write one scene image and a line per face: ``(face_id, box, confidence, ExpW code)``."""
        (self.root / IMAGE_FOLDER / name).write_bytes(image)
        for face_id, box, confidence, code in faces:
            self._labels.write(
                f"{name} {face_id} {box.top} {box.left} {box.right} {box.bottom} "
                f"{confidence:.6g} {int(code)}\n"
            )

    def close(self) -> None:
        """Flush and close ``label.lst``."""
        self._labels.close()
