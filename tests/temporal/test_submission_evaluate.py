from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score

from semifer.errors import DataFormatError
from semifer.inference.submission import HEADER, read_submission, submission_lines, validate_submission, write_submission
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
