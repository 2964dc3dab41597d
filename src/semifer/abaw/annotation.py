"""The ABAW EXPR annotation file: the class-name header, then one label per frame.

Line ``i + 1`` labels frame ``i`` (``<video>/%05d.jpg``); -1 means not annotated. Aff-Wild2 ships
one such file per video, and ``semifer synth`` writes one beside its raw video.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn

import numpy as np

from semifer.errors import DataFormatError
from semifer.labels import ABAW_CLASSES, NUM_CLASSES, UNLABELED

ABAW_HEADER = ",".join(ABAW_CLASSES)


def read_expr_annotation(path: Path) -> np.ndarray:
    """Read one EXPR annotation file: int64 label per frame, -1 kept as -1.

    Raises ``DataFormatError`` "<file>:<line>: ..." for a header other than the ABAW header or a
    label that is not an integer in -1..7.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DataFormatError(f"{path}: cannot read the annotation ({error})") from None
    header = lines[0].strip() if lines else ""
    if header != ABAW_HEADER:
        raise DataFormatError(f"{path}:1: header {header!r} is not the ABAW header {ABAW_HEADER!r}")
    body = [line.strip() for line in lines[1:]]
    while body and not body[-1]:
        body.pop()
    try:
        labels = np.array(body, dtype=np.str_).astype(np.int64)
    except ValueError:
        labels = None
    if labels is None or ((labels < UNLABELED) | (labels >= NUM_CLASSES)).any():
        _raise_first_bad_label(path, body)
    return labels


def _raise_first_bad_label(path: Path, body: list[str]) -> NoReturn:
    """Name the first line whose label is not an integer in -1..7 (the slow path)."""
    for number, text in enumerate(body, start=2):
        if not text.lstrip("-").isdigit() or not UNLABELED <= int(text) < NUM_CLASSES:
            raise DataFormatError(f"{path}:{number}: label {text!r} is not an integer in -1..7")
    raise DataFormatError(f"{path}: labels are not integers in -1..7")


def write_expr_annotation(path: Path, labels: Iterable[int], extra_line: bool = False) -> None:
    """Write one EXPR annotation file (its folder is created).

    ``extra_line`` repeats the last label once more, as some real ABAW files do
    (``semifer.abaw.alignment.drop_extra_line`` drops it again when reading).
    """
    lines = [ABAW_HEADER, *(str(int(label)) for label in labels)]
    if extra_line:
        lines.append(lines[-1])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
