"""InsightFace MS1MV2 RecordIO (``train.rec``/``train.idx``/``property``), read without mxnet.

Framing (dmlc RecordIO): little-endian uint32 magic ``0xCED7230A``, uint32 ``lrec`` with the
continuation flag in its top 3 bits and the length in the low 29; payload zero-padded to 4
bytes. A payload holding the magic at a 4-aligned position is split there into parts (cflag
1 start, 2 middle, 3 end), and the reader puts the magic back between them. Payload =
``<IfQQ`` header (flag, label, id, id2), ``flag`` float32 labels, then the JPEG bytes.
Record 0 is a header whose labels ``[L0, L1]`` say that records 1..L0-1 are images and
records L0..L1-1 are identities, each with labels ``[first, end)`` of its image records.
"""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from semifer.data.base import ClosingWriter, FaceReader
from semifer.errors import CorruptRecordError, DataFormatError
from semifer.labels import UNLABELED

logger = logging.getLogger(__name__)

MAGIC = 0xCED7230A
MAGIC_BYTES = struct.pack("<I", MAGIC)
LENGTH_MASK = (1 << 29) - 1
HEADER = struct.Struct("<IfQQ")
FULL, START, MIDDLE, END = 0, 1, 2, 3
CHECK_CHUNK = 1 << 18  # records per vectorised header check: a 16 MB gather index


def _padded(length: int) -> int:
    return (length + 3) & ~3


def _extend(descriptor: int, buffer: bytes, offset: int, needed: int) -> bytes:
    """``buffer`` (read at ``offset``) grown to ``needed`` bytes, or to the end of the file."""
    if len(buffer) >= needed:
        return buffer
    return buffer + os.pread(descriptor, needed - len(buffer), offset + len(buffer))


def read_index(path: Path, data_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Parse ``train.idx`` (``key<TAB>offset`` lines) into sorted keys and their offsets.

    Arrays, not a dict: 5.8M records cost 93 MB as two int64 arrays. An offset past the end of
    ``train.rec`` (``data_size`` bytes) is a ``DataFormatError`` naming the line.
    """
    try:
        table = pd.read_csv(path, sep="\t", header=None, names=["key", "offset"], dtype=np.int64)
    except (ValueError, pd.errors.ParserError) as error:
        raise DataFormatError(f"{path}: not a RecordIO index ({error})") from None
    keys = table["key"].to_numpy()
    offsets = table["offset"].to_numpy()
    bad = np.flatnonzero((offsets < 0) | (offsets + 8 > data_size))
    if bad.size:
        raise DataFormatError(
            f"{path}:{bad[0] + 1}: offset {offsets[bad[0]]} of record {keys[bad[0]]} "
            f"is past the end of the {data_size}-byte record file"
        )
    order = np.argsort(keys, kind="stable")
    return keys[order], offsets[order]


class RecordIOReader(FaceReader):
    """MS1MV2-style face records; ``labels`` are all -1 (no expression), identities on demand.

    The ``.rec`` file is opened lazily and reopened when the process id changes, so the reader
    can be built in the main process and used in forked DataLoader workers.
    """

    source = "ms1mv2"

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        self.rec_path = self.folder / "train.rec"
        self.idx_path = self.folder / "train.idx"
        for path in (self.rec_path, self.idx_path):
            if not path.is_file():
                raise DataFormatError(f"{path}: RecordIO file not found")
        self._rec_name = str(self.rec_path)
        self._handle: BinaryIO | None = None
        self._pid = -1
        self._size = self.rec_path.stat().st_size
        keys, self._offsets = read_index(self.idx_path, self._size)
        # Usually keys are 0..N-1: then the key is the position and the key array is dropped
        # (MS1MV2: 46 MB less per process).
        dense = np.array_equal(keys, np.arange(len(keys)))
        self._keys: np.ndarray | None = None if dense else keys
        # Bytes from each record to the next one in the file: one read fetches a whole record,
        # continuation parts included (records may be stored in any order in the file).
        file_order = np.argsort(self._offsets, kind="stable")
        ends = np.append(self._offsets[file_order][1:], self._size)
        self._spans = np.empty(len(self._offsets), dtype=np.int32)
        self._spans[file_order] = np.minimum(ends - self._offsets[file_order], 1 << 30)
        header_flag, _, header_values, _ = self.read_record(0)
        if header_flag < 2:
            raise DataFormatError(f"{self.rec_path}: record 0 is not a header record")
        self.image_end, self.identity_end = (int(value) for value in header_values[:2])
        if not 1 <= self.image_end <= len(self._offsets):
            raise DataFormatError(
                f"{self.rec_path} record 0: header names images 1..{self.image_end - 1} but "
                f"{self.idx_path} indexes {len(self._offsets)} records"
            )
        self._identities: np.ndarray | None = None
        # Image records are 1..image_end-1: item i is record i + 1.
        self.labels = np.full(max(self.image_end - 1, 0), UNLABELED, dtype=np.int64)

    @property
    def indexed_records(self) -> int:
        """Records the ``.idx`` names: the header, the images and the identity records."""
        return len(self._offsets)

    @property
    def identities(self) -> np.ndarray:
        """Identity id per item, from the identity records (or each image header without them)."""
        if self._identities is None:
            self._identities = self._read_identities()
        return self._identities

    def _read_identities(self) -> np.ndarray:
        """Identity records give each identity's image range; its first image header, the id."""
        identities = np.full(len(self), -1, dtype=np.int64)
        if self.identity_end > self.image_end:
            for record in range(self.image_end, self.identity_end):
                _, _, values, _ = self.read_record(record)
                first, end = int(values[0]), int(values[1])
                identities[first - 1 : end - 1] = self._image_identity(first)
        else:
            logger.info("%s has no identity records; reading every image header", self.rec_path)
            for index in range(len(self)):
                identities[index] = self._image_identity(index + 1)
        return identities

    def _image_identity(self, record: int) -> int:
        flag, label, values, _ = self.read_record(record)
        return int(values[0]) if flag > 0 else int(label)

    def key(self, index: int) -> str:
        return str(index + 1)

    def where(self, index: int) -> str:
        return f"{self._rec_name} record {index + 1}"

    def read_bytes(self, index: int) -> bytes:
        return self.read_record(index + 1)[3]

    def read_record(self, record: int) -> tuple[int, float, np.ndarray, bytes]:
        """Header flag, header label, float32 labels and image bytes of record id ``record``."""
        if self._keys is None:
            position = record
        else:
            position = int(np.searchsorted(self._keys, record))
        known = 0 <= position < len(self._offsets)
        if not known or (self._keys is not None and self._keys[position] != record):
            raise DataFormatError(f"{self.idx_path}: no record {record} in the index")
        payload = self._read_payload(
            int(self._offsets[position]), int(self._spans[position]), record
        )
        where = f"{self.rec_path} record {record}"
        if len(payload) < HEADER.size:
            raise CorruptRecordError(where, f"{len(payload)}-byte payload is shorter than a header")
        flag, label, _, _ = HEADER.unpack_from(payload)
        start = HEADER.size + 4 * flag
        if start > len(payload):
            raise CorruptRecordError(where, f"header says {flag} labels, payload has no room")
        values = np.frombuffer(payload, dtype="<f4", count=flag, offset=HEADER.size)
        return flag, label, values, payload[start:]

    def check_headers(self, examples: int = 5) -> tuple[int, list[str]]:
        """Check the framing of every indexed record from its first 8 bytes, payloads unread.

        Magic, continuation flag (a record starts whole or with its first part), a length that
        ends inside the file and, for a whole record, room for the ``<IfQQ`` header. Vectorised
        over a memory map, so 5.8M records cost one scattered read each, not a Python loop.
        Returns the number of bad records and the messages of the first ``examples`` of them.
        """
        if not len(self._offsets):
            return 0, []
        data = np.memmap(self.rec_path, dtype=np.uint8, mode="r")
        problems, messages = 0, []
        for first in range(0, len(self._offsets), CHECK_CHUNK):
            offsets = self._offsets[first : first + CHECK_CHUNK]
            words = data[offsets[:, None] + np.arange(8)].view("<u4")  # (records, 2): magic, lrec
            magic, cflag, length = words[:, 0], words[:, 1] >> 29, words[:, 1] & LENGTH_MASK
            bad_magic = magic != MAGIC
            bad_flag = ~bad_magic & (cflag != FULL) & (cflag != START)
            past_end = ~bad_magic & ~bad_flag & (offsets + 8 + length > self._size)
            too_short = ~bad_magic & ~bad_flag & ~past_end & (cflag == FULL) & (length < HEADER.size)
            bad = np.flatnonzero(bad_magic | bad_flag | past_end | too_short)
            problems += bad.size
            for position in bad[: max(examples - len(messages), 0)]:
                record = first + position if self._keys is None else int(self._keys[first + position])
                where = f"{self._rec_name} record {record} at byte {offsets[position]}"
                if bad_magic[position]:
                    reason = f"bad magic 0x{int(magic[position]):08X} (expected 0x{MAGIC:08X})"
                elif bad_flag[position]:
                    reason = f"continuation flag {int(cflag[position])} where a record starts"
                elif past_end[position]:
                    reason = f"length {int(length[position])} runs past the end of the {self._size}-byte file"
                else:
                    reason = f"{int(length[position])}-byte payload is shorter than a header"
                messages.append(f"{where}: {reason}")
        return problems, messages

    def _file(self) -> BinaryIO:
        if self._handle is None or self._pid != os.getpid():
            self._handle = self.rec_path.open("rb", buffering=0)
            self._pid = os.getpid()
        return self._handle

    def _read_payload(self, offset: int, span: int, record: int) -> bytes:
        """Read one logical record at ``offset`` with one ``pread``, rejoining continuation parts.

        ``span`` (bytes up to the next record) is only a first guess: a short read is extended,
        so a wrong ``.idx`` shows up as a framing error, not as wrong bytes.
        """
        descriptor = self._file().fileno()
        buffer = os.pread(descriptor, max(span, 8), offset)
        position = 0
        parts: list[bytes] = []
        while True:
            buffer = _extend(descriptor, buffer, offset, position + 8)
            where = f"{self._rec_name} record {record} at byte {offset + position}"
            if len(buffer) < position + 8:
                raise CorruptRecordError(where, "truncated record header")
            magic, lrec = struct.unpack_from("<II", buffer, position)
            if magic != MAGIC:
                raise CorruptRecordError(where, f"bad magic 0x{magic:08X} (expected 0x{MAGIC:08X})")
            cflag, length = lrec >> 29, lrec & LENGTH_MASK
            end = position + 8 + length
            buffer = _extend(descriptor, buffer, offset, end)
            if len(buffer) < end:
                raise CorruptRecordError(where, f"truncated record ({len(buffer) - position - 8} of {length} bytes)")
            expected = (FULL, START) if not parts else (MIDDLE, END)
            if cflag not in expected:
                raise CorruptRecordError(where, f"continuation flag {cflag} out of sequence")
            parts.append(buffer[position + 8 : end])
            if cflag in (FULL, END):
                return parts[0] if len(parts) == 1 else MAGIC_BYTES.join(parts)
            position += 8 + _padded(length)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_handle"] = None
        return state


class RecordIOWriter(ClosingWriter):
    """Writes an InsightFace-style ``train.rec``/``train.idx``/``property`` (a context manager).

    Images of one identity must be added together (MS1MV2 is sorted by identity): then identity
    records are written too; otherwise only the image records are, and readers fall back to
    the image headers.
    """

    def __init__(self, folder: Path | str, image_size: tuple[int, int] = (112, 112)) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.image_size = image_size
        self._rec = (self.folder / "train.rec").open("wb")
        self._offsets: list[int] = []
        self._identities: list[int] = []
        self._write(self._header_payload(0, 0))

    @staticmethod
    def _header_payload(image_end: int, identity_end: int) -> bytes:
        values = np.array([image_end, identity_end], dtype="<f4").tobytes()
        return HEADER.pack(2, 0.0, 0, 0) + values

    def add(self, image: bytes, identity: int) -> int:
        """Append one face image of ``identity``; returns its record id."""
        record = len(self._offsets)
        self._write(HEADER.pack(0, float(identity), record, 0) + image)
        self._identities.append(int(identity))
        return record

    def _write(self, payload: bytes) -> None:
        """Write ``payload`` as one record, split wherever the magic sits at a 4-aligned offset."""
        self._offsets.append(self._rec.tell())
        aligned = np.frombuffer(payload[: len(payload) & ~3], dtype="<u4")
        cuts = (np.flatnonzero(aligned == MAGIC) * 4).tolist()
        # Each cut drops the 4 magic bytes; the reader puts them back between the parts.
        starts = [0, *(cut + 4 for cut in cuts)]
        ends = [*cuts, len(payload)]
        parts = [payload[start:end] for start, end in zip(starts, ends, strict=True)]
        for number, part in enumerate(parts):
            if len(parts) == 1:
                cflag = FULL
            else:
                cflag = START if number == 0 else END if number == len(parts) - 1 else MIDDLE
            self._rec.write(struct.pack("<II", MAGIC, (cflag << 29) | len(part)))
            self._rec.write(part + b"\0" * (_padded(len(part)) - len(part)))

    def close(self) -> None:
        """Write the identity records, the header record 0, ``train.idx`` and ``property``."""
        if self._rec.closed:
            return
        image_end = len(self._offsets)
        identities = np.array(self._identities, dtype=np.int64)
        changes = np.flatnonzero(np.diff(identities)) + 1
        starts = np.concatenate([[0], changes]).astype(np.int64)
        identity_end = image_end
        if identities.size and len(np.unique(identities)) == len(starts):
            ends = np.concatenate([starts[1:], [len(identities)]])
            for first, end in zip(starts, ends, strict=True):
                values = np.array([first + 1, end + 1], dtype="<f4").tobytes()
                self._write(HEADER.pack(2, 0.0, 0, 0) + values)
            identity_end = len(self._offsets)
        self._rec.seek(0)
        header = self._header_payload(image_end, identity_end)
        self._rec.write(struct.pack("<II", MAGIC, len(header)) + header)
        self._rec.close()
        lines = "".join(f"{record}\t{offset}\n" for record, offset in enumerate(self._offsets))
        (self.folder / "train.idx").write_text(lines)
        classes = len(np.unique(identities))
        height, width = self.image_size
        (self.folder / "property").write_text(f"{classes},{height},{width}")
