"""AffectNet: ``Manually_Annotated_file_lists/{training,validation}.csv`` + the image folder.

Each CSV row names an image under ``Manually_Annotated_Images/``, its face box
(``face_x, face_y, face_width, face_height``) and an expression code, mapped to ABAW by
``semifer.labels.affectnet_to_abaw`` (Contempt, None, Uncertain, No-Face become unlabeled).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from semifer.data.base import Box, ClosingWriter, ListedFaceReader, non_utf8_error
from semifer.errors import DataFormatError
from semifer.labels import AFFECTNET_CODES, affectnet_to_abaw

COLUMNS = (
    "subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "facial_landmarks", "expression",
    "valence", "arousal",
)  # fmt: skip
NUMERIC_COLUMNS = ("face_x", "face_y", "face_width", "face_height", "expression")
SPLIT_FILES = {"train": "training.csv", "training": "training.csv", "validation": "validation.csv"}
LISTS = "Manually_Annotated_file_lists"
IMAGES = "Manually_Annotated_Images"


def split_file(split: str) -> str:
    """CSV file name of ``split`` ("train"/"training" or "validation")."""
    try:
        return SPLIT_FILES[split.lower()]
    except KeyError:
        raise DataFormatError(f"unknown AffectNet split {split!r}; use one of {sorted(SPLIT_FILES)}") from None


class AffectNetReader(ListedFaceReader):
    """One AffectNet split; the CSV is parsed once (paths, boxes, codes), images on demand.

    The released ``validation.csv`` has no header row while ``training.csv`` has one: both work.
    """

    source = "affectnet"

    def __init__(self, root: Path | str, split: str = "train") -> None:
        self.root = Path(root)
        self.csv_path = self.root / LISTS / split_file(split)
        if not self.csv_path.is_file():
            raise DataFormatError(f"{self.csv_path}: AffectNet file list not found")
        table = self._read_rows()
        numbers = {name: self._integers(table[name], name) for name in NUMERIC_COLUMNS}
        codes = numbers["expression"]
        bad = np.flatnonzero((codes < 0) | (codes >= AFFECTNET_CODES))
        if bad.size:
            raise DataFormatError(
                f"{self.csv_path}:{self._lines[bad[0]]}: expression code {codes[bad[0]]} "
                f"is outside 0..{AFFECTNET_CODES - 1}"
            )
        left, top = numbers["face_x"], numbers["face_y"]
        boxes = np.stack([left, top, left + numbers["face_width"], top + numbers["face_height"]], axis=1)
        self._list(self.csv_path, self.root / IMAGES, table[COLUMNS[0]].to_numpy(dtype=object), boxes, self._lines)
        mapping = np.array([affectnet_to_abaw(code) for code in range(AFFECTNET_CODES)])
        self.labels = mapping[codes].astype(np.int64)
        self.expression_codes = codes

    def _read_rows(self) -> pd.DataFrame:
        """The path and numeric columns of every row, as strings; ``self._lines`` gets each row's line.

        The csv module checks every row's field count (pandas with ``usecols`` silently drops
        extra fields); the landmark column is dropped row by row (~1 kB per row otherwise).
        """
        kept = [COLUMNS.index(name) for name in (COLUMNS[0], *NUMERIC_COLUMNS)]
        rows: list[list[str]] = []
        lines: list[int] = []
        with self.csv_path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, strict=True)
            try:
                for fields in reader:
                    if not fields or (not rows and fields[0] == COLUMNS[0]):  # blank line, header row
                        continue
                    if len(fields) != len(COLUMNS):
                        raise DataFormatError(
                            f"{self.csv_path}:{reader.line_num}: expected {len(COLUMNS)} fields, found {len(fields)}"
                        )
                    rows.append([fields[column] for column in kept])
                    lines.append(reader.line_num)
            except UnicodeDecodeError:
                raise non_utf8_error(self.csv_path) from None
            except csv.Error as error:
                raise DataFormatError(f"{self.csv_path}:{reader.line_num}: not an AffectNet CSV ({error})") from None
        self._lines = np.array(lines, dtype=np.int64)
        return pd.DataFrame(rows, columns=[COLUMNS[0], *NUMERIC_COLUMNS], dtype=str)

    def _integers(self, column: pd.Series, name: str) -> np.ndarray:
        """Parse one column as integers (AffectNet writes boxes as whole pixels)."""
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
        bad = np.flatnonzero(np.isnan(values) | (values != np.round(values)))
        if bad.size:
            raise DataFormatError(f"{self.csv_path}:{self._lines[bad[0]]}: {name} {column.iloc[bad[0]]!r} is not an integer")
        return values.astype(np.int64)

    def key(self, index: int) -> str:
        return str(self._images[index])


class AffectNetWriter(ClosingWriter):
    """Writes images and CSV rows in the AffectNet layout (a context manager)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._files: dict[str, tuple[TextIO, csv.DictWriter]] = {}

    def add(
        self, split: str, sub_path: str, image: bytes, box: Box, expression: int,
        valence: float = 0.0, arousal: float = 0.0, landmarks: str = "",
    ) -> None:  # fmt: skip
        """Write ``image`` to ``Manually_Annotated_Images/<sub_path>`` and its CSV row."""
        target = self.root / IMAGES / sub_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(image)
        row = (sub_path, box.left, box.top, box.width, box.height, landmarks, int(expression), valence, arousal)
        self._writer(split).writerow(dict(zip(COLUMNS, row, strict=True)))

    def _writer(self, split: str) -> csv.DictWriter:
        name = split_file(split)
        if name not in self._files:
            path = self.root / LISTS / name
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = path.open("w", newline="", encoding="utf-8")
            writer = csv.DictWriter(handle, fieldnames=list(COLUMNS), lineterminator="\n")
            writer.writeheader()
            self._files[name] = (handle, writer)
        return self._files[name][1]

    def close(self) -> None:
        """Flush and close the CSV files."""
        for handle, _ in self._files.values():
            handle.close()
        self._files.clear()
