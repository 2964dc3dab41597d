"""What every on-disk format reader provides, and the errors they raise.

A reader (as in timm's ``data/readers``) only enumerates items and hands out encoded bytes:
it indexes lazily (annotation files, CSV rows, the RecordIO ``.idx``) and decodes nothing
until asked, so a 5.8M-image MS1MV2 costs an offset table, not the images.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import cv2
import numpy as np

from semifer.errors import CorruptImageError, DataFormatError, FaceBoxError

__all__ = [
    "Box", "CorruptImageError", "DataFormatError", "FaceBoxError", "FaceReader", "ListedFaceReader", "crop", "decode_image",
    "non_utf8_error", "read_file", "read_text",
]


@dataclass(frozen=True)
class Box:
    """A face box in pixel coordinates, right/bottom exclusive (``img[top:bottom, left:right]``)."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def fits(self, width: int, height: int) -> bool:
        """True when the box is non-empty and lies inside a ``width`` x ``height`` image."""
        return 0 <= self.left < self.right <= width and 0 <= self.top < self.bottom <= height


def decode_image(data: bytes, where: str) -> np.ndarray:
    """Decode JPEG/PNG bytes to an RGB ``(height, width, 3)`` uint8 array.

    Raises ``CorruptImageError`` naming ``where`` when the bytes are not a decodable image.
    """
    buffer = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR) if buffer.size else None
    if image is None:
        raise CorruptImageError(where)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_file(path: str) -> bytes:
    """Read an image file; a missing or unreadable one is a ``CorruptImageError`` (skipped, counted).

    Takes a plain string: readers build paths by string concatenation because ``Path`` joins
    per item cost about 10% of decoding a 112x112 JPEG.
    """
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise CorruptImageError(path, f"unreadable file ({error.strerror})") from None


def non_utf8_error(path: str | Path) -> DataFormatError:
    """The first line of ``path`` that is not UTF-8, as an error naming the file, line and byte.

    The slow path, taken once a decode failed: text decoders read in blocks, so only a second,
    line-by-line pass can name the line.
    """
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as error:
                return DataFormatError(f"{path}:{number}: byte 0x{raw[error.start]:02X} is not UTF-8 text")
    return DataFormatError(f"{path}: not UTF-8 text")


def read_text(path: str | Path) -> str:
    """A UTF-8 text file (a byte-order mark is dropped); ``DataFormatError`` naming the line of a bad byte."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise non_utf8_error(path) from None


def crop(image: np.ndarray, box: Box | None, where: str) -> np.ndarray:
    """Crop ``box`` out of ``image``; a box outside the image is a ``FaceBoxError`` (skipped, counted)."""
    if box is None:
        return image
    height, width = image.shape[:2]
    if not box.fits(width, height):
        raise FaceBoxError(where, f"face box {box} lies outside the {width}x{height} image")
    return image[box.top : box.bottom, box.left : box.right]


class FaceReader(ABC):
    """Enumerates the face images of one source; ``load`` decodes one on demand.

    ``labels`` holds one ABAW label per item (``semifer.labels.UNLABELED`` for unlabeled
    items) and is cheap to hold in memory: the class-balanced sampler needs it up front.
    """

    source: str  # short name of the format, e.g. "affectnet"
    labels: np.ndarray  # ABAW label per item, int64, -1 where unlabeled; set by each reader

    @abstractmethod
    def read_bytes(self, index: int) -> bytes:
        """The encoded image bytes of item ``index``."""

    @abstractmethod
    def where(self, index: int) -> str:
        """Human-readable location of item ``index`` (file path, CSV line, record id)."""

    @abstractmethod
    def key(self, index: int) -> str:
        """Stable identifier of item ``index``, the key used by the synthetic manifest."""

    def box(self, index: int) -> Box | None:
        """Face box to crop, or ``None`` when the image is already a face crop."""
        return None

    def __len__(self) -> int:
        return len(self.labels)

    def load(self, index: int) -> np.ndarray:
        """Decode and crop item ``index`` to an RGB uint8 array (raises ``CorruptImageError``)."""
        where = self.where(index)
        return crop(decode_image(self.read_bytes(index), where), self.box(index), where)


class ListedFaceReader(FaceReader):
    """Faces listed one per line of an index file (AffectNet's CSV, ExpW's ``label.lst``), each
    a box in an image of one folder; the subclass parses its file and calls ``_list``."""

    def _list(self, list_path: Path, image_folder: Path, images: np.ndarray, boxes: np.ndarray, lines: np.ndarray) -> None:
        """Items: ``images`` (paths under ``image_folder``), ``(left, top, right, bottom)`` boxes, list-file lines."""
        # Plain strings, not Path joins: building paths per load cost ~10% of a 112px decode.
        self._where_prefix, self._image_prefix = str(list_path), f"{image_folder}{os.sep}"
        self._images = np.asarray(images, dtype=object)
        self._boxes = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
        self._lines = np.asarray(lines, dtype=np.int64)

    def where(self, index: int) -> str:
        return f"{self._where_prefix}:{int(self._lines[index])} ({self._images[index]})"

    def box(self, index: int) -> Box:
        return Box(*self._boxes[index].tolist())

    def image_file(self, index: int) -> str:
        """Path of item ``index``'s image (``semifer inspect`` reads its size from the header)."""
        return self._image_prefix + self._images[index]

    def read_bytes(self, index: int) -> bytes:
        return read_file(self.image_file(index))


class ClosingWriter(ABC):
    """A format writer used as a context manager: leaving the block closes (finishes) it."""

    @abstractmethod
    def close(self) -> None:
        """Flush what is buffered and write the files that need everything added first."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
