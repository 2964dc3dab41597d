"""ExpW: ``label/label.lst`` face lines over the scene images in ``image/origin/``.

Each line is ``image_name face_id top left right bottom confidence label``; one image can
hold several faces, each its own item, cropped ``img[top:bottom, left:right]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import numpy as np

from semifer.data.base import Box, ClosingWriter, ListedFaceReader, non_utf8_error
from semifer.errors import DataFormatError
from semifer.labels import EXPW_CODES, expw_to_abaw

LABEL_FILE = Path("label") / "label.lst"
IMAGE_FOLDER = Path("image") / "origin"
FIELDS = 8


class ExpWReader(ListedFaceReader):
    """All ExpW faces, one item per line of ``label.lst`` (parsed once; images on demand)."""

    source = "expw"

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.label_path = self.root / LABEL_FILE
        if not self.label_path.is_file():
            raise DataFormatError(f"{self.label_path}: ExpW label list not found")
        with self.label_path.open(encoding="utf-8") as handle:
            try:
                rows = [self._parse(fields, number) for number, line in enumerate(handle, start=1) if (fields := line.split())]
            except UnicodeDecodeError:
                raise non_utf8_error(self.label_path) from None
        names, face_ids, boxes, codes, lines = list(zip(*rows)) or [()] * 5
        self._list(self.label_path, self.root / IMAGE_FOLDER, np.array(names, dtype=object), np.array(boxes), np.array(lines))
        self._face_ids = np.array(face_ids, dtype=np.int64)
        self.expression_codes = np.array(codes, dtype=np.int64)
        mapping = np.array([expw_to_abaw(code) for code in range(EXPW_CODES)], dtype=np.int64)
        self.labels = mapping[self.expression_codes]

    def _parse(self, fields: list[str], number: int) -> tuple[str, int, tuple[int, int, int, int], int, int]:
        """Check line ``number``; returns image name, face id, box (left, top, right, bottom), ExpW code, ``number``."""
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
        return fields[0], face_id, (left, top, right, bottom), code, number

    def key(self, index: int) -> str:
        return f"{self._images[index]}#{int(self._face_ids[index])}"


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
