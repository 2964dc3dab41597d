"""Errors that mean "the input is wrong", shown to users as one message without a traceback.

Everything a user can cause (a bad file, path, key or checkpoint) raises a subclass of
``SemiferError`` whose message names the file, line, record or key at fault.
"""

from __future__ import annotations


class SemiferError(Exception):
    """Base of all user-facing errors."""


class DataFormatError(SemiferError, ValueError):
    """A structural error in a data set (header, magic, offsets, labels): stops the run."""


class CorruptImageError(SemiferError, ValueError):
    """One image could not be decoded. Datasets skip it, count it and report the count."""

    def __init__(self, where: str, reason: str = "undecodable image") -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where


class FaceBoxError(CorruptImageError):
    """A face box that does not fit inside its image: that one item is skipped and counted, like an
    undecodable image, since a single bad annotation row should not stop a run."""


class CorruptRecordError(CorruptImageError, DataFormatError):
    """One RecordIO record whose framing or header is broken. Training skips and counts it like an
    undecodable image (one bad record among millions should not stop a run); anything that reads
    it as data (``semifer inspect`` checks every record's framing up front) sees a format error."""


class ConfigError(SemiferError, ValueError):
    """A recipe or override that does not fit the schema (names the key or file)."""


class CheckpointError(SemiferError, ValueError):
    """A checkpoint folder that is missing, incomplete, corrupt or of the wrong model."""


class InputError(SemiferError, ValueError):
    """A prediction input (video, image, folder or glob) that is missing, empty or unreadable."""
