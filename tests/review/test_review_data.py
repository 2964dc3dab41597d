"""Data gathering of the review: checked predictions tables, cell spans, page data, the written folder."""

from __future__ import annotations

import base64
import json
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from review_fixtures import CLIP_FRAMES, DemoFixture, predict_table, write_clip
from typer.testing import CliRunner

from semifer.cli import app
from semifer.abaw.annotation import write_expr_annotation
from semifer.errors import ConfigError, DataFormatError, InputError
from semifer.inference.outputs import write_table
from semifer.labels import NUM_CLASSES
from semifer.review import review, review_predictions
from semifer.review.predictions import read_labels, read_predictions
from semifer.review.summary import cell_spans, group_report
from semifer.review.video import FrameImages, ReviewVideo


def one_line_error(error: BaseException, *parts: str) -> None:
    message = str(error)
    assert "\n" not in message
    for part in parts:
        assert part in message, message


def reviewed(truth: list[int] | None, raw: list[int], smoothed: list[int] | None = None) -> ReviewVideo:
    frames = len(raw)
    return ReviewVideo(
        name="v", source="predict", raw=np.array(raw), smoothed=np.array(smoothed if smoothed is not None else raw),
        probabilities=np.full((frames, NUM_CLASSES), 1 / NUM_CLASSES), no_face=np.zeros(frames, bool),
        images=FrameImages(Path("/data/frames/v"), first=0, digits=6), smoothing="labels",
        truth=None if truth is None else np.array(truth),
    )  # fmt: skip


def test_a_table_without_some_columns_is_one_error_line_naming_the_file_and_columns(tmp_path: Path) -> None:
    path = write_table(predict_table("clip.mp4").drop(columns=["raw_label", "Fear"]), tmp_path / "clip.csv")
    with pytest.raises(DataFormatError) as error:
        read_predictions(path)
    one_line_error(error.value, str(path), "raw_label", "Fear")


def test_frames_out_of_order_name_the_file_and_line(tmp_path: Path) -> None:
    table = predict_table("clip.mp4")
    swapped = table.iloc[[0, 1, 2, 4, 3, *range(5, CLIP_FRAMES)]]
    path = write_table(swapped, tmp_path / "clip.csv")
    with pytest.raises(DataFormatError) as error:
        read_predictions(path)
    one_line_error(error.value, f"{path}:6:", "frame 3 comes after frame 4")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda table: table.drop(index=7), "frame 7 has no row"),
        (lambda table: table.assign(label=table["label"].where(table["frame"] != 9, 8)), ":11: label 8 is not a valid value"),
        (lambda table: table.assign(frame=table["frame"] - 1), ":2: frame -1 is negative"),
        (lambda table: table.iloc[:0], "no rows"),
    ],
)
def test_bad_tables_are_one_error_line_naming_the_file(tmp_path: Path, change, expected: str) -> None:  # type: ignore[no-untyped-def]
    path = write_table(change(predict_table("clip.mp4")), tmp_path / "clip.csv")
    with pytest.raises(DataFormatError) as error:
        read_predictions(path)
    one_line_error(error.value, str(path), expected)


def test_a_file_that_is_not_a_table_is_one_error_line(tmp_path: Path) -> None:
    path = tmp_path / "clip.parquet"
    path.write_bytes(b"\x00\x01 not parquet")
    with pytest.raises(DataFormatError) as error:
        read_predictions(path)
    one_line_error(error.value, str(path), "not a readable predictions table")
    with pytest.raises(InputError, match="no such predictions file"):
        read_predictions(tmp_path / "absent.csv")


def test_labels_align_to_the_frames_and_a_wrong_length_names_both_files(tmp_path: Path) -> None:
    labels = np.arange(CLIP_FRAMES) % NUM_CLASSES
    write_expr_annotation(tmp_path / "extra.txt", labels, extra_line=True)
    assert np.array_equal(read_labels(tmp_path / "extra.txt", CLIP_FRAMES, tmp_path / "clip.csv"), labels)  # ABAW's extra line
    short = tmp_path / "short.txt"
    write_expr_annotation(short, labels[:10])
    with pytest.raises(DataFormatError) as error:
        read_labels(short, CLIP_FRAMES, tmp_path / "clip.csv")
    one_line_error(error.value, str(short), str(tmp_path / "clip.csv"), "10 frames")


def test_cell_spans_list_runs_of_consecutive_frames_per_cell() -> None:
    videos = [reviewed([0, 0, 0, 1, 1, -1, 1], [0, 2, 2, 1, 1, 1, 0]), reviewed(None, [3, 3]), reviewed([2, 2], [2, 2])]
    cells = cell_spans(videos, [0, 1, 2], "raw")
    assert cells[0 * NUM_CLASSES + 0] == [[0, 0, 1]]
    assert cells[0 * NUM_CLASSES + 2] == [[0, 1, 2]]
    assert cells[1 * NUM_CLASSES + 1] == [[0, 3, 2]]  # frame 5 is not annotated: the run stops
    assert cells[1 * NUM_CLASSES + 0] == [[0, 6, 1]]
    assert cells[2 * NUM_CLASSES + 2] == [[2, 0, 2]]
    assert sum(len(cell) for cell in cells) == 5
    report = group_report(videos, "raw")
    assert report.frames == 8 and report.matrix[0, 2] == 2


def test_page_data_is_base64_and_links_frames_relative_to_the_page() -> None:
    video = reviewed([-1, 3], [3, 4])
    video.boxes = np.array([[0.25, 0.5, 0.75, 1.0], [np.nan] * 4])
    payload = video.payload(Path("/data/review/videos"))
    assert payload["images"] == {"folder": "../../frames/v/", "first": 0, "digits": 6, "suffix": ".jpg"}
    assert list(base64.b64decode(payload["truth"])) == [255, 3]
    assert list(base64.b64decode(payload["raw"])) == [3, 4]
    assert list(base64.b64decode(payload["probabilities"]))[:NUM_CLASSES] == [32] * NUM_CLASSES
    boxes = np.frombuffer(base64.b64decode(payload["boxes"]), "<u2")
    assert boxes[:4].tolist() == [16384, 32767, 49150, 65534] and boxes[4:].tolist() == [65535] * 4


def test_build_review_writes_light_pages_that_only_link_frames(demo: DemoFixture, review_site: Path) -> None:
    for name in ("index.html", "data/overview.js", "data/cells.js", "assets/plotly.min.js", "assets/video.js", "assets/review.css"):
        assert (review_site / name).is_file(), name
    for page in [review_site / "index.html", *(review_site / "videos").glob("*.html")]:
        for link in re.findall(r'(?:src|href)="([^"#]+)', page.read_text()):
            assert not link.startswith(("http", "/", "data:")), link
            assert (page.parent / link).is_file(), f"{page}: {link}"
    data = json.loads((review_site / "videos" / "validation-w1.js").read_text().split(" = ", 1)[1].rstrip(";\n"))
    assert data["frames"] == 120 and data["images"]["folder"].endswith("data/aff-wild2/cropped_aligned/w1/")
    assert (review_site / "videos" / data["images"]["folder"]).resolve() == (demo.root / "data/aff-wild2/cropped_aligned/w1").resolve()
    assert sorted(path.name for path in (review_site / "frames" / "clip").iterdir()) == [f"{i:06d}.jpg" for i in range(CLIP_FRAMES)]
    overview = json.loads((review_site / "data" / "overview.js").read_text().split(" = ", 1)[1].rstrip(";\n"))
    ablation = json.loads((demo.root / "stages" / "ablation.json").read_text())
    assert overview["matrices"][0]["counts"] == ablation["rows"]["SSL + temporal"]["confusion_matrix"]
    assert [row["name"] for row in overview["rows"]][:2] == ablation["order"]
    assert [video["name"] for video in overview["videos"]] == ["w1", "w2", "clip"]


def test_a_table_review_finds_its_video_and_warns_when_it_cannot(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    video, annotation, predictions, _, table = write_clip(tmp_path / "in")
    write_table(table.assign(file=[f"{video}#{i}" for i in range(CLIP_FRAMES)]), predictions)
    review_predictions(predictions, tmp_path / "out", labels=annotation)
    assert len(list((tmp_path / "out" / "frames" / "clip").glob("*.jpg"))) == CLIP_FRAMES
    video.unlink()
    with caplog.at_level(logging.WARNING):
        review_predictions(predictions, tmp_path / "out2")
    assert "frames are not shown" in caplog.text
    assert (tmp_path / "out2" / "index.html").is_file() and not (tmp_path / "out2" / "frames").exists()


def test_the_input_kind_decides_the_review_and_wrong_options_are_errors(tmp_path: Path, demo: DemoFixture) -> None:
    with pytest.raises(InputError, match="no such predictions table"):
        review(tmp_path / "absent", tmp_path / "out")
    with pytest.raises(ConfigError, match="--features"):
        review(tmp_path, tmp_path / "out")
    with pytest.raises(ConfigError, match="--features"):
        review(demo.root / "predict" / "clip.csv", tmp_path / "out", features=tmp_path)
    with pytest.raises(ConfigError, match="--labels"):
        review(demo.root, tmp_path / "out", labels=tmp_path / "x.txt")


def test_cli_reviews_a_stage2_run_and_reports_a_bad_table_in_one_line(tmp_path: Path, demo: DemoFixture) -> None:
    checkpoint = demo.root / "runs" / "temporal" / "checkpoints" / "step-00000001"
    crops = demo.root / "data" / "aff-wild2" / "cropped_aligned"
    runner = CliRunner()
    result = runner.invoke(
        app, ["review", str(checkpoint), str(tmp_path / "run"), "--features", str(demo.root / "features" / "ssl"), "--images", str(crops)]
    )
    assert result.exit_code == 0, result.output
    overview = (tmp_path / "run" / "data" / "overview.js").read_text()
    assert '"name":"temporal"' in overview and '"name":"temporal + window vote (30)"' in overview
    bad = write_table(pd.DataFrame({"frame": [0, 1]}), tmp_path / "bad.csv")
    result = runner.invoke(app, ["review", str(bad), str(tmp_path / "bad")])
    assert isinstance(result.exception, DataFormatError)
    one_line_error(result.exception, str(bad), "missing column")
