"""Scoring a ``predict`` table against a per-frame EXPR annotation, as a function and as ``predict --truth``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_inference_predict import run_cli

from semifer.abaw.annotation import ABAW_HEADER
from semifer.errors import SemiferError
from semifer.inference.scoring import score_predictions


def _annotation(path: Path, labels: list[int]) -> Path:
    path.write_text("\n".join([ABAW_HEADER, *map(str, labels)]) + "\n")
    return path


def _table(labels: list[int]) -> pd.DataFrame:
    """The columns of a main-face ``predict`` table that scoring reads."""
    boxes = {column: np.nan for column in ("face_left", "face_top", "face_right", "face_bottom")}
    return pd.DataFrame({"frame": range(len(labels)), "label": labels, "no_face": False, **boxes})


def test_perfect_predictions_score_one_and_unannotated_frames_are_ignored(tmp_path: Path) -> None:
    truth = [0, 0, 4, 4, 5, -1, 7, 1, 2, 3, 6]
    predicted = [0, 0, 4, 4, 5, 3, 7, 1, 2, 3, 6]
    report = score_predictions(_table(predicted), _annotation(tmp_path / "video.txt", truth))
    assert report.macro_f1 == pytest.approx(1.0) and report.frames == 10
    half = score_predictions(_table([0] * 11), _annotation(tmp_path / "video.txt", truth))
    assert half.macro_f1 == pytest.approx(2 * 2 / (2 + 10) / 8)


def test_annotation_one_line_longer_is_accepted_other_mismatches_name_both_sides(tmp_path: Path) -> None:
    longer = _annotation(tmp_path / "longer.txt", [4, 4, 4, 0])
    assert score_predictions(_table([4, 4, 4]), longer).macro_f1 == pytest.approx(1 / 8)
    wrong = _annotation(tmp_path / "wrong.txt", [4, 4, 4, 0, 0])
    with pytest.raises(SemiferError, match=r"wrong\.txt has 5 annotated frames but out/video\.csv has 3"):
        score_predictions(_table([4, 4, 4]), wrong, source="out/video.csv")


def test_predict_truth_prints_the_macro_f1(checkpoints, face_video, tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    truth = _annotation(tmp_path / "face.txt", [4] * 20 + [-1] * 5 + [0] * 15)
    args = ["predict", str(checkpoints["stage1"]), str(face_video), "--out", str(tmp_path / "out"), "--truth", str(truth)]
    status, stdout, stderr = run_cli(args, monkeypatch, capsys)
    assert status == 0, stderr
    assert "macro F1" in stdout and "over 35 annotated frames" in " ".join(stdout.split())
    short = _annotation(tmp_path / "short.txt", [4] * 10)
    status, _, stderr = run_cli([*args[:-1], str(short)], monkeypatch, capsys)
    assert status == 2 and "short.txt has 10 annotated frames" in " ".join(stderr.split())
