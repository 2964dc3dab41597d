"""Writing the prediction table: CSV or Parquet, and the ABAW-style label file.

Every file is written under a temporary name in its folder and renamed into place, so an
interrupted run never leaves half a file where a previous complete one was.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from semifer.abaw.submission import write_submission
from semifer.checkpoint import atomic_path
from semifer.errors import ConfigError

FORMATS = ("csv", "parquet")


def write_table(table: pd.DataFrame, path: Path, fmt: str = "csv") -> Path:
    """Write ``table`` as CSV or Parquet to ``path``, atomically."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    with atomic_path(path) as temporary:
        if fmt == "csv":
            table.to_csv(temporary, index=False, float_format="%.6g")
        else:
            table.to_parquet(temporary, index=False)
    return path


def read_table(path: Path) -> pd.DataFrame:
    """Read a table written by ``write_table`` (format from the suffix)."""
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, keep_default_na=True)


def main_rows(table: pd.DataFrame) -> pd.DataFrame:
    """One row per frame: the largest face of each frame (the only row in main-face mode)."""
    area = (table["face_right"] - table["face_left"]) * (table["face_bottom"] - table["face_top"])
    ranked = table.assign(_area=area.fillna(-1.0)).sort_values(["frame", "_area"], ascending=[True, False], kind="stable")
    return ranked.drop_duplicates("frame").drop(columns="_area").reset_index(drop=True)


def write_abaw_labels(table: pd.DataFrame, path: Path, video: str) -> Path:
    """The ABAW submission lines of one video: ``<video>/00001.jpg,<label>`` for every frame."""
    return write_submission(path, {video: main_rows(table)["label"].to_numpy(dtype=np.int64)})
