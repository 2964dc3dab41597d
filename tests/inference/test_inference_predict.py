"""``semifer predict`` end to end and the ``Recognizer`` API, on drawn faces and tiny checkpoints."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
from inference_helpers import (
    draw_face,
    face_frames,
    make_stage1_checkpoint,
    make_stage2_checkpoint,
    run_cli,
    write_truncated_video,
    write_video,
)

from semifer import Recognizer
from semifer.errors import CheckpointError, ConfigError
from semifer.inference.labeling import COLUMNS
from semifer.labels import ABAW_CLASSES


def test_predict_video_end_to_end(checkpoints, face_video, tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    args = ["predict", str(checkpoints["stage2"]), str(face_video), "--out", str(out), "--annotated-video", "--timeline"]
    status, stdout, stderr = run_cli(args, monkeypatch, capsys)
    assert status == 0, stderr
    table = pd.read_csv(out / "face.csv")
    assert list(table.columns) == COLUMNS
    assert table["frame"].tolist() == list(range(40))  # every frame has exactly one row
    assert table.loc[table["no_face"], "frame"].tolist() == [10, 11, 12]
    assert table["interpolated"].equals(table["no_face"])
    assert table.loc[~table["no_face"], "face_left"].notna().all()
    probabilities = table[list(ABAW_CLASSES)].to_numpy()
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    assert (table["label_name"] == [ABAW_CLASSES[k] for k in table["label"]]).all()
    abaw = (out / "face.abaw.txt").read_text().splitlines()
    assert abaw[0] == "image_location," + ",".join(ABAW_CLASSES) and len(abaw) == 41
    assert abaw[1] == f"face/00001.jpg,{table['label'][0]}"
    with av.open(str(out / "face.annotated.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 40
    assert (out / "face.timeline.png").stat().st_size > 10_000
    assert "40 frames (37 with a face)" in stdout


def test_predict_writes_parquet(checkpoints, face_video, tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    args = ["predict", str(checkpoints["stage1"]), str(face_video), "--out", str(tmp_path), "--format", "parquet"]
    assert run_cli(args, monkeypatch, capsys)[0] == 0
    table = pd.read_parquet(tmp_path / "face.parquet")
    assert list(table.columns) == COLUMNS and len(table) == 40


def test_video_without_faces_is_all_flagged_with_a_message(checkpoints, tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    empty = write_video(tmp_path / "empty.mp4", face_frames(20, no_face=tuple(range(20))))
    status, _, stderr = run_cli(["predict", str(checkpoints["stage2"]), str(empty), "--out", str(tmp_path)], monkeypatch, capsys)
    assert status == 0
    assert "no face found in any of the 20 frames" in " ".join(stderr.split())
    table = pd.read_csv(tmp_path / "empty.csv")
    assert len(table) == 20 and table["no_face"].all() and table["interpolated"].all()


def test_corrupt_frame_is_flagged_and_labeled_from_neighbours(checkpoints, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = write_video(tmp_path / "clip.avi", face_frames(12), codec="mjpeg")
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xD8]
    data[starts[6] : starts[6] + 600] = bytes(600)
    path.write_bytes(bytes(data))
    table = Recognizer.from_checkpoint(checkpoints["stage2"]).predict_video(path)
    assert table["frame"].tolist() == list(range(12))
    assert table.loc[table["unreadable"], "frame"].tolist() == [6]
    assert table.loc[6, "interpolated"] and not table.loc[6, "no_face"] and table.loc[6, "label"] >= 0


def test_all_faces_gives_each_face_its_own_track(checkpoints, tmp_path) -> None:  # type: ignore[no-untyped-def]
    frames = []
    for index in range(16):
        frame = np.full((240, 400, 3), 90, np.uint8)
        frame[40:140, 20 + index : 120 + index] = draw_face(100)
        frame[60:180, 250:370] = draw_face(120, smile=0.8)
        frames.append(frame)
    video = write_video(tmp_path / "two.mp4", frames)
    recognizer = Recognizer.from_checkpoint(checkpoints["stage2"])
    table = recognizer.predict_video(video, all_faces=True)
    assert sorted(table.groupby("track_id")["frame"].count().tolist()) == [16, 16]
    main = recognizer.predict_video(video)
    assert len(main) == 16 and main["face_left"].min() > 200  # the larger face is the main one


def test_predict_images_and_crops(checkpoints, tmp_path) -> None:  # type: ignore[no-untyped-def]
    recognizer = Recognizer.from_checkpoint(checkpoints["stage1"])
    face, empty = face_frames(1)[0], face_frames(1, no_face=(0,))[0]
    table = recognizer.predict_images([face, empty])
    assert list(table.columns) == COLUMNS
    assert table["no_face"].tolist() == [False, True] and table["label"].tolist()[1] == -1
    crops = recognizer.predict_images([draw_face(112)] * 3, crops=True)
    assert len(crops) == 3 and not crops["no_face"].any()
    assert np.allclose(crops[list(ABAW_CLASSES)].to_numpy()[0], crops[list(ABAW_CLASSES)].to_numpy()[2])


def test_bad_checkpoints_are_checkpoint_errors(checkpoints, tmp_path) -> None:  # type: ignore[no-untyped-def]
    seven = make_stage1_checkpoint(tmp_path / "seven", num_classes=7)
    with pytest.raises(CheckpointError, match="7-class"):
        Recognizer.from_checkpoint(seven)
    other = make_stage1_checkpoint(tmp_path / "other", backbone="test_efficientnet")
    wrong_dim = make_stage2_checkpoint(tmp_path / "wrong-dim", checkpoints["stage1"], feature_dim=7)
    with pytest.raises(CheckpointError, match="another backbone"):
        Recognizer.from_checkpoint(wrong_dim)
    mismatched = shutil.copytree(other, tmp_path / "mismatched")
    spec = json.loads((mismatched / "model.json").read_text())
    (mismatched / "model.json").write_text(json.dumps({**spec, "backbone": "test_resnet"}))
    with pytest.raises(CheckpointError, match="does not fit test_resnet"):
        Recognizer.from_checkpoint(mismatched)


def test_stage2_uses_the_frame_encoder_it_carries_and_refuses_changed_weights(checkpoints, tmp_path) -> None:  # type: ignore[no-untyped-def]
    stage1 = shutil.copytree(checkpoints["stage1"], tmp_path / "spatial")
    stage2 = make_stage2_checkpoint(tmp_path / "temporal", stage1)
    retrained = make_stage1_checkpoint(tmp_path / "retrained", seed=5)
    shutil.copy(retrained / "student.safetensors", stage1 / "student.safetensors")
    crops = [draw_face(112)]
    before = Recognizer.from_checkpoint(checkpoints["stage2"]).predict_images(crops, crops=True)
    after = Recognizer.from_checkpoint(stage2).predict_images(crops, crops=True)  # the retrained stage-1 folder plays no part
    assert np.allclose(before[list(ABAW_CLASSES)].to_numpy(), after[list(ABAW_CLASSES)].to_numpy())
    shutil.copy(retrained / "student.safetensors", stage2 / "frame_encoder.safetensors")
    with pytest.raises(CheckpointError, match=r"frame_encoder\.safetensors: digest mismatch"):
        Recognizer.from_checkpoint(stage2)
    (stage2 / "frame_encoder.json").unlink()  # a stage-2 checkpoint of before the frame encoder travelled with it
    with pytest.raises(CheckpointError, match="without its frame encoder"):
        Recognizer.from_checkpoint(stage2)


@pytest.mark.parametrize("kind", ["missing", "truncated", "text", "empty-folder", "bad-checkpoint"])
def test_user_errors_are_one_line_and_keep_earlier_outputs(kind, checkpoints, face_video, tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    out.mkdir()
    earlier = out / "face.csv"
    earlier.write_text("an earlier complete result\n")
    target: Path = tmp_path / "face.mp4"
    checkpoint = checkpoints["stage2"]
    if kind == "truncated":
        target.write_bytes(face_video.read_bytes()[:2000])
    elif kind == "text":
        target.write_text("not a video")
    elif kind == "empty-folder":
        target = tmp_path / "frames"
        target.mkdir()
    elif kind == "bad-checkpoint":
        target, checkpoint = face_video, tmp_path
    status, _, stderr = run_cli(["predict", str(checkpoint), str(target), "--out", str(out)], monkeypatch, capsys)
    assert status == 2
    assert stderr.startswith("error: ") and "Traceback" not in stderr
    assert earlier.read_text() == "an earlier complete result\n"
    assert sorted(p.name for p in out.iterdir()) == ["face.csv"]


def test_crop_folder_with_gaps_gets_a_row_per_frame_number(checkpoints, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import cv2

    for number in (1, 2, 3, 6, 7):
        cv2.imwrite(str(tmp_path / f"{number:05d}.jpg"), cv2.cvtColor(draw_face(112), cv2.COLOR_RGB2BGR))
    table = Recognizer.from_checkpoint(checkpoints["stage2"], detector="no-such-detector").predict_video(tmp_path, crops=True)
    assert table["frame"].tolist() == list(range(7))
    assert table.loc[table["no_face"], "frame"].tolist() == [3, 4]
    assert not table["unreadable"].any() and table.loc[[3, 4], "interpolated"].all()


def test_predict_on_a_glob_of_images(checkpoints, tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import cv2

    cv2.imwrite(str(tmp_path / "face.jpg"), cv2.cvtColor(face_frames(1)[0], cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(tmp_path / "empty.jpg"), cv2.cvtColor(face_frames(1, no_face=(0,))[0], cv2.COLOR_RGB2BGR))
    args = ["predict", str(checkpoints["stage1"]), str(tmp_path / "*.jpg"), "--out", str(tmp_path / "out")]
    assert run_cli(args, monkeypatch, capsys)[0] == 0
    table = pd.read_csv(tmp_path / "out" / "images.csv")
    assert list(table.columns) == COLUMNS
    assert dict(zip(table["file"].map(lambda p: Path(p).name), table["no_face"], strict=True)) == {"empty.jpg": True, "face.jpg": False}
    assert not (tmp_path / "out" / "images.abaw.txt").exists()


def test_numbered_images_give_one_row_per_file(checkpoints, tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import cv2

    for name in ("a/1.jpg", "a/5.jpg", "b/1.jpg"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / name), cv2.cvtColor(draw_face(112), cv2.COLOR_RGB2BGR))
    args = ["predict", str(checkpoints["stage1"]), str(tmp_path / "*" / "*.jpg"), "--crops", "--out", str(tmp_path / "out")]
    assert run_cli(args, monkeypatch, capsys)[0] == 0
    table = pd.read_csv(tmp_path / "out" / "images.csv")
    assert [Path(p).relative_to(tmp_path).as_posix() for p in table["file"]] == ["a/1.jpg", "a/5.jpg", "b/1.jpg"]
    listed = Recognizer.from_checkpoint(checkpoints["stage1"]).predict_images([tmp_path / "a/1.jpg", tmp_path / "a/5.jpg"], crops=True)
    assert len(listed) == 2 and not listed["no_face"].any()


def test_truncated_video_warns_with_frames_declared_and_decoded(checkpoints, tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    video = write_truncated_video(tmp_path / "cut.mp4", face_frames(40))
    table = Recognizer.from_checkpoint(checkpoints["stage1"]).predict_video(video)
    assert table.attrs["frames_declared"] == 40 and table.attrs["frames_decoded"] == len(table) < 40
    status, _, stderr = run_cli(["predict", str(checkpoints["stage1"]), str(video), "--out", str(tmp_path / "out")], monkeypatch, capsys)
    assert status == 0
    assert f"warning: {video}: the header declares 40 frames but only {len(table)} were decoded" in " ".join(stderr.split())


def test_unknown_smoothing_stops_predict_before_decoding(checkpoints, face_video, tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="unknown smoothing method 'x'"):
        Recognizer.from_checkpoint(checkpoints["stage1"], smoothing="x")
    args = ["predict", str(checkpoints["stage1"]), str(face_video), "--smoothing", "x", "--out", str(tmp_path / "out")]
    status, _, stderr = run_cli(args, monkeypatch, capsys)
    assert status == 2 and stderr.startswith("error: ") and "smoothing" in stderr
    assert not (tmp_path / "out").exists()
