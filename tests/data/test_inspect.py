"""semifer inspect on a folder of sources written by the format writers."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from semifer.cli import main
from semifer.cli.app import app
from semifer.data.affectnet import AffectNetWriter
from semifer.data.affwild2 import AffWild2Writer
from semifer.data.base import Box
from semifer.data.expw import ExpWWriter
from semifer.data.inspect import detect_formats, inspect_folder
from semifer.data.recordio import RecordIOWriter
from semifer.errors import DataFormatError


@pytest.fixture
def data_root(tmp_path, make_image, jpeg):
    """The synthetic layout: four sources side by side, one ExpW image corrupt."""
    frame = jpeg(make_image(0))
    writer = AffWild2Writer(tmp_path / "aff-wild2")
    writer.write_video("train", "a_left", [0, 0, -1, 4], [frame, None, frame, frame])
    writer.write_video("train", "a_right", [7, 7, 7], [frame, frame, frame],
                       extra_annotation_line=True)
    writer.write_video("validation", "b", [5, 6], [frame, frame])
    with AffectNetWriter(tmp_path / "affectnet") as affectnet:
        for code in (0, 1, 1, 8):
            affectnet.add("train", f"1/{code}_{id(code)}.jpg", frame, Box(0, 0, 32, 32), code)
    with ExpWWriter(tmp_path / "expw") as expw:
        expw.add_image("good.jpg", frame, [(0, Box(0, 0, 16, 16), 1.0, 3),
                                           (1, Box(16, 16, 32, 32), 1.0, 0)])
        expw.add_image("bad.jpg", b"not a jpeg", [(0, Box(0, 0, 8, 8), 1.0, 6)])
    with RecordIOWriter(tmp_path / "ms1mv2") as recordio:
        for identity in (0, 0, 1):
            recordio.add(frame, identity)
    return tmp_path


def test_detects_sources_in_sub_folders(data_root):
    names = [name for name, _ in detect_formats(data_root)]
    assert names == ["affwild2", "affectnet", "expw", "ms1mv2"]
    assert detect_formats(data_root / "expw") == [("expw", data_root / "expw")]


def test_counts(data_root):
    report = inspect_folder(data_root, check_images=True)
    by_key = {(source.format, source.split): source for source in report.sources}
    train = by_key["affwild2", "train"]
    assert (train.videos, train.frames, train.images) == (2, 7, 6)
    assert (train.unlabeled, train.missing_faces, train.corrupt) == (1, 1, 0)
    assert train.class_counts["Neutral"] == 2 and train.class_counts["Other"] == 3
    assert train.class_shares["Other"] == pytest.approx(0.5)
    assert by_key["affwild2", "validation"].frames == 2
    affectnet = by_key["affectnet", "train"]
    assert (affectnet.images, affectnet.unlabeled, affectnet.class_counts["Happiness"]) == (4, 1, 2)
    expw = by_key["expw", "all"]
    assert (expw.images, expw.corrupt) == (3, 1)
    assert "bad.jpg" in expw.corrupt_examples[0]
    ms1mv2 = by_key["ms1mv2", "all"]
    assert (ms1mv2.images, ms1mv2.unlabeled, ms1mv2.identities) == (3, 3, 2)


def test_corrupt_is_unknown_without_check(data_root):
    report = inspect_folder(data_root / "expw")
    assert report.sources[0].corrupt is None


def test_cli_table_and_json(data_root):
    runner = CliRunner()
    table = runner.invoke(app, ["inspect", str(data_root)], terminal_width=200)
    assert table.exit_code == 0, table.output
    assert "affwild2" in table.output and "Happiness" in table.output
    result = runner.invoke(app, ["inspect", str(data_root / "aff-wild2"), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert [source["split"] for source in payload["sources"]] == ["train", "validation"]
    assert payload["sources"][0]["missing_faces"] == 1


def test_unknown_folder_is_one_red_line(tmp_path, monkeypatch, capsys):
    with pytest.raises(DataFormatError, match="no known data format"):
        inspect_folder(tmp_path)
    monkeypatch.setattr(sys, "argv", ["semifer", "inspect", str(tmp_path / "missing")])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 2
    assert "missing: no such folder" in " ".join(capsys.readouterr().err.split())


def test_non_utf8_label_list_is_one_red_line(data_root, monkeypatch, capsys):
    path = data_root / "expw" / "label" / "label.lst"
    path.write_bytes(path.read_bytes() + b"\xff.jpg 0 0 0 8 8 1.0 3\n")
    monkeypatch.setattr(sys, "argv", ["semifer", "inspect", str(data_root / "expw")])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 2
    error = " ".join(capsys.readouterr().err.split())
    assert error.startswith("error:") and "label.lst:4: byte 0xFF is not UTF-8" in error and "Traceback" not in error


def test_boxes_and_record_headers_are_checked_up_front(tmp_path, make_image, jpeg):
    frame = jpeg(make_image(0))  # 32x32
    with AffectNetWriter(tmp_path / "affectnet") as affectnet:
        affectnet.add("train", "ok.jpg", frame, Box(0, 0, 32, 32), 1)
        affectnet.add("train", "wide.jpg", frame, Box(8, 8, 40, 40), 1)
    with ExpWWriter(tmp_path / "expw") as expw:
        expw.add_image("s.jpg", frame, [(0, Box(0, 0, 16, 16), 1.0, 3), (1, Box(30, 0, 50, 16), 1.0, 3)])
    with RecordIOWriter(tmp_path / "ms1mv2") as recordio:
        for identity in (0, 0, 1):
            recordio.add(frame, identity)
    offsets = [int(line.split("\t")[1]) for line in (tmp_path / "ms1mv2" / "train.idx").read_text().splitlines()]
    rec = tmp_path / "ms1mv2" / "train.rec"
    data = bytearray(rec.read_bytes())
    data[offsets[2] : offsets[2] + 4] = bytes(4)
    rec.write_bytes(bytes(data))

    report = inspect_folder(tmp_path)
    checks = {(source.format, check.name): check for source in report.sources for check in source.checks}
    boxes = checks["affectnet", "face boxes"]
    assert (boxes.checked, boxes.problems) == (2, 1) and "training.csv:3 (wide.jpg): face box" in boxes.examples[0]
    boxes = checks["expw", "face boxes"]
    assert (boxes.checked, boxes.problems) == (2, 1) and "label.lst:2 (s.jpg)" in boxes.examples[0]
    records = checks["ms1mv2", "record headers"]
    assert records.problems == 1 and "record 2" in records.examples[0] and "bad magic" in records.examples[0]
    result = CliRunner().invoke(app, ["inspect", str(tmp_path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "face boxes: 1 of 2 outside their image" in output and "record headers: 1 of" in output
    assert "training.csv:3 (wide.jpg)" in output and "record 2" in output
