from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score

from semifer.abaw.submission import HEADER, read_submission, submission_lines, validate_submission, write_submission
from semifer.errors import DataFormatError
from semifer.temporal.evaluate import evaluate_labels


def test_submission_round_trip_covers_every_frame(tmp_path: Path) -> None:
    predictions = {"v1": np.array([0, 7, 3]), "v2_left": np.array([4])}
    path = write_submission(tmp_path / "sub.txt", predictions, {"v1": 3, "v2_left": 1})
    lines = path.read_text().splitlines()
    assert lines == [HEADER, "v1/00001.jpg,0", "v1/00002.jpg,7", "v1/00003.jpg,3", "v2_left/00001.jpg,4"]
    read = read_submission(path)
    assert set(read) == {"v1", "v2_left"} and read["v1"].tolist() == [0, 7, 3]


def test_writer_rejects_missing_or_duplicated_frames_and_missing_videos(tmp_path: Path) -> None:
    lines = submission_lines({"v1": np.array([0, 1, 2])})
    with pytest.raises(DataFormatError, match="missing frame 00002"):
        validate_submission([lines[0], lines[1], lines[3]], {"v1": 3})
    with pytest.raises(DataFormatError, match="appears twice"):
        validate_submission([*lines, lines[2]], {"v1": 3})
    with pytest.raises(DataFormatError, match="has 3 frames, expected 4"):
        validate_submission(lines, {"v1": 4})
    with pytest.raises(DataFormatError, match="video v2 is missing"):
        write_submission(tmp_path / "sub.txt", {"v1": np.array([0, 1, 2])}, {"v1": 3, "v2": 5})
    with pytest.raises(DataFormatError, match="not in the list"):
        validate_submission(lines, {})
    assert not (tmp_path / "sub.txt").exists()


def test_reader_names_file_and_line_of_a_bad_label(tmp_path: Path) -> None:
    path = tmp_path / "pred.txt"
    path.write_text(f"{HEADER}\nv1/00001.jpg,0\nv1/00002.jpg,8\n")
    with pytest.raises(DataFormatError, match=r"pred\.txt:3: label '8'"):
        read_submission(path)
    path.write_text(f"{HEADER}\nv1/00001.jpg,-1\n")
    with pytest.raises(DataFormatError, match=r"pred\.txt:2"):
        read_submission(path)
    path.write_text("image,label\n")
    with pytest.raises(DataFormatError, match=r"pred\.txt:1: header"):
        read_submission(path)


@pytest.mark.parametrize("seed", range(3))
def test_evaluation_matches_sklearn_macro_f1(seed: int) -> None:
    rng = np.random.default_rng(seed)
    targets = {f"v{i}": rng.integers(-1, 8, size=int(rng.integers(1, 300))) for i in range(5)}
    predictions = {name: rng.integers(0, 8, size=labels.size) for name, labels in targets.items()}
    result = evaluate_labels(predictions, targets, "window", 30)
    truth = np.concatenate(list(targets.values()))
    predicted = np.concatenate([predictions[name] for name in targets])
    keep = truth >= 0
    expected = f1_score(truth[keep], predicted[keep], labels=range(8), average="macro", zero_division=0)
    assert result.raw.macro_f1 == pytest.approx(expected)
    assert result.raw.frames == int(keep.sum()) == result.smoothed.frames


def test_evaluation_rejects_missing_videos_and_wrong_lengths() -> None:
    targets = {"v1": np.array([0, 1]), "v2": np.array([2])}
    with pytest.raises(DataFormatError, match="pred.txt: no predictions for 1 video.*v2"):
        evaluate_labels({"v1": np.array([0, 1])}, targets, source="pred.txt")
    with pytest.raises(DataFormatError, match="v2 has 2 predicted frames but 1 annotated"):
        evaluate_labels({"v1": np.array([0, 1]), "v2": np.array([2, 2])}, targets)
    with pytest.raises(DataFormatError, match="no annotated frame"):
        evaluate_labels({"v1": np.array([0])}, {"v1": np.array([-1])})


@pytest.fixture
def annotated(tmp_path: Path) -> Path:
    """Aff-Wild2 validation annotations: ``a`` (5 frames, all with an image), ``b`` (4 frames + the extra line)."""
    import cv2

    from semifer.data.affwild2 import AffWild2Writer

    image = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes()
    writer = AffWild2Writer(tmp_path / "data")
    writer.write_video("validation", "a", [0, 1, 2, 3, 4], [image] * 5)
    writer.write_video("validation", "b", [5, 5, 6, 6], [image, None, image, image], extra_annotation_line=True)
    return tmp_path / "data" / "annotations" / "Validation_Set"


def write_predictions(path: Path, frames: dict[str, int], extra: tuple[str, ...] = ()) -> Path:
    lines = submission_lines({name: np.zeros(count, dtype=np.int64) for name, count in frames.items()})
    path.write_text("\n".join([*lines, *extra]) + "\n")
    return path


def test_evaluate_refuses_a_submission_missing_a_last_frame_with_an_image(annotated: Path, tmp_path: Path) -> None:
    from semifer.abaw.alignment import annotation_targets

    for counts in ({"a": 5, "b": 4}, {"a": 5, "b": 5}):  # b's fifth line is the annotation's extra line
        path = write_predictions(tmp_path / "ok.txt", counts)
        targets = annotation_targets(annotated, read_submission(path), source=str(path))
        assert {name: len(labels) for name, labels in targets.items()} == counts
    path = write_predictions(tmp_path / "sub.txt", {"a": 4, "b": 4})
    with pytest.raises(DataFormatError, match=r"sub\.txt: video a has no prediction for frame 00005\.jpg \(.*a\.txt annotates 5 frames"):
        annotation_targets(annotated, read_submission(path), source=str(path))
    path = write_predictions(tmp_path / "sub.txt", {"a": 5, "b": 3})
    with pytest.raises(DataFormatError, match=r"video b has no prediction for frame 00004\.jpg"):
        annotation_targets(annotated, read_submission(path), source=str(path))


@pytest.mark.parametrize(("extra", "message"), [
    ("c/00001.jpg,0", r"sub\.txt:11: video 'c' has no annotation in "),
    ("../a/00001.jpg,0", r"sub\.txt:11: '\.\./a/00001\.jpg,0' is not '<video>/00001\.jpg,<label>'"),
])
def test_evaluate_names_the_line_of_an_unknown_video(annotated: Path, tmp_path: Path, extra: str, message: str, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import sys

    from semifer.cli import main

    path = write_predictions(tmp_path / "sub.txt", {"a": 5, "b": 4}, (extra,))
    monkeypatch.setattr(sys, "argv", ["semifer", "evaluate", str(path), str(annotated)])
    with pytest.raises(SystemExit) as stop:
        main()
    error = " ".join(capsys.readouterr().err.split())
    assert stop.value.code == 2 and error.startswith("error:") and "Traceback" not in error
    assert __import__("re").search(message, error), error


def test_non_utf8_submission_and_video_list_name_their_line(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import sys

    from semifer.cli import main

    path = tmp_path / "sub.txt"
    path.write_bytes(f"{HEADER}\nv1/00001.jpg,0\n".encode() + b"v\xff/00001.jpg,0\n")
    with pytest.raises(DataFormatError, match=r"sub\.txt:3: byte 0xFF is not UTF-8"):
        read_submission(path)
    videos = tmp_path / "videos.txt"
    videos.write_bytes(b"v1\nv\xe92\n")
    monkeypatch.setattr(sys, "argv", ["semifer", "submit", str(tmp_path / "ckpt"), str(tmp_path / "cache"), str(tmp_path / "out.txt"), "--videos", str(videos)])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 2 and "videos.txt:2: byte 0xE9 is not UTF-8" in " ".join(capsys.readouterr().err.split())


def test_cache_evaluation_counts_annotated_frames_without_a_feature(fake_cache: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    from semifer.temporal.evaluate import evaluate_cache
    from semifer.temporal.features import FeatureCache

    caplog.set_level("INFO")
    cache = FeatureCache(fake_cache, "validation")
    expected = 0
    for name in cache.names:
        labels, mask = cache.frame_labels(name)
        expected += int(((labels != -1) & ~mask).sum())
    result = evaluate_cache(cache)
    assert expected > 0 and result.frames_without_features == expected
    assert result.as_dict()["frames_without_features"] == expected
    assert f"{expected} of {result.raw.frames} annotated frames" in caplog.text
