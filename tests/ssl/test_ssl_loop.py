"""The stage-1 loop end to end on in-memory faces: run folder, logs, resume, NaN, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from semifer.checkpoint import list_checkpoints
from semifer.errors import CheckpointError, ConfigError
from semifer.models.backbone import load_frame_model
from semifer.ssl.config import SourceEntry
from semifer.ssl.loop import train_spatial
from semifer.runs.loop import NonFiniteLossError
from semifer.ssl.task import TeacherStudentTask
from safetensors.torch import load_file

from ssl_helpers import spatial_config, spatial_data


def test_ssl_run_writes_logs_checkpoints_and_best(tmp_path: Path) -> None:
    run = train_spatial(spatial_config(tmp_path), progress=False, data=spatial_data())
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    train_rows = [r for r in rows if "loss/teacher" in r]
    assert [r["step"] for r in train_rows] == [2, 4]
    for key in ("loss/unlabeled", "feedback/f", "feedback/f_positive_share", "pseudo/accuracy",
                "pseudo/mask_rate", "lr/student", "images_per_s", "skipped_images", "pseudo/class_share/Other"):
        assert key in train_rows[-1], key
    assert any("val/student_macro_f1" in r for r in rows)
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == ["step-00000002", "step-00000004"]
    last = run / "checkpoints" / "step-00000004"
    for name in ("student.safetensors", "teacher.safetensors", "optimizer-student.safetensors", "model.json", "config.yaml"):
        assert (last / name).is_file(), name
    assert (run / "best" / "student.safetensors").is_file() and any((run / "tb").iterdir())
    model, spec = load_frame_model(last)
    assert spec.backbone == "test_resnet" and not model.training
    again = train_spatial(spatial_config(tmp_path, resume="true"), progress=False, data=spatial_data())
    assert again == run  # finished run: returned at once


def test_decoded_cache_run_in_bf16_channels_last_with_a_worker(tmp_path: Path) -> None:
    config = spatial_config(
        tmp_path, bf16="true", channels_last="true", **{"data.workers": 1, "data.decoded_cache": str(tmp_path / "cache")}
    )
    run = train_spatial(config, progress=False, data=spatial_data())
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    last = [r for r in rows if "loss/teacher" in r][-1]
    assert last["step"] == 4 and last["skipped_images"] == 0 and "pseudo/accuracy" in last
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [
        "labeled.json", "labeled.npy", "unlabeled.json", "unlabeled.npy"
    ]


def test_supervised_mode_saves_single_network(tmp_path: Path) -> None:
    run = train_spatial(spatial_config(tmp_path, mode="supervised", steps=2), progress=False, data=spatial_data())
    folder = run / "checkpoints" / "step-00000002"
    assert (folder / "student.safetensors").is_file() and not (folder / "teacher.safetensors").exists()


class Killed(Exception):
    pass


@pytest.mark.parametrize("decoded_cache", [False, True])
def test_killed_and_resumed_run_matches_uninterrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, decoded_cache: bool
) -> None:
    cache = {"data.decoded_cache": str(tmp_path / "cache")} if decoded_cache else {}
    full = train_spatial(spatial_config(tmp_path / "a", steps=6, checkpoint_every=3, eval_every=100, **cache), progress=False, data=spatial_data())
    real = TeacherStudentTask.train_step

    def killed_at_step_4(self: TeacherStudentTask, *args: torch.Tensor) -> dict[str, torch.Tensor]:
        if args[4] == 4:  # the step
            raise Killed
        return real(self, *args)

    with monkeypatch.context() as patch:
        patch.setattr(TeacherStudentTask, "train_step", killed_at_step_4)
        with pytest.raises(Killed):
            train_spatial(spatial_config(tmp_path / "b", steps=6, checkpoint_every=3, eval_every=100, **cache), progress=False, data=spatial_data())
    resumed = train_spatial(spatial_config(tmp_path / "b", steps=6, checkpoint_every=3, eval_every=100, resume="true", **cache), progress=False, data=spatial_data())
    for name in ("teacher", "student"):
        a = load_file(full / "checkpoints" / "step-00000006" / f"{name}.safetensors")
        b = load_file(resumed / "checkpoints" / "step-00000006" / f"{name}.safetensors")
        assert all(torch.equal(a[k], b[k]) for k in a), name


def test_nan_loss_stops_without_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = TeacherStudentTask.train_step

    def poisoned(self: TeacherStudentTask, *args: torch.Tensor) -> dict[str, torch.Tensor]:
        logs = real(self, *args)
        if args[4] == 2:  # the step
            logs["loss/teacher"] = torch.tensor(float("nan"))
        return logs

    monkeypatch.setattr(TeacherStudentTask, "train_step", poisoned)
    config = spatial_config(tmp_path, steps=5, checkpoint_every=1)
    with pytest.raises(NonFiniteLossError, match="step 3"):
        train_spatial(config, progress=False, data=spatial_data())
    saved = [p.name for p in list_checkpoints(Path(config.run_dir) / "checkpoints")]
    assert saved == ["step-00000001", "step-00000002"]


def test_bad_input_stops_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="backbon"):
        spatial_config(tmp_path, **{"model.backbon": "resnet18"})
    with pytest.raises(ConfigError, match="resnet5000"):
        train_spatial(spatial_config(tmp_path, **{"model.backbone": "resnet5000"}), progress=False, data=spatial_data())
    with pytest.raises(ConfigError, match="Other"):
        train_spatial(spatial_config(tmp_path), progress=False, data=spatial_data(classes=7))
    with pytest.raises(CheckpointError, match="no checkpoint"):
        train_spatial(spatial_config(tmp_path, resume_from=str(tmp_path)), progress=False, data=spatial_data())
    with pytest.raises(ConfigError, match="data.sources\\[0\\].path"):
        config = spatial_config(tmp_path)
        config.data.sources = [SourceEntry(path=str(tmp_path / "missing"))]
        train_spatial(config, progress=False)


def test_corrupt_resume_checkpoint_is_refused(tmp_path: Path) -> None:
    run = train_spatial(spatial_config(tmp_path, steps=2), progress=False, data=spatial_data())
    (run / "checkpoints" / "step-00000002" / "student.safetensors").write_bytes(b"not a tensor file")
    with pytest.raises(CheckpointError, match="student.safetensors"):
        train_spatial(spatial_config(tmp_path, steps=4, resume="true"), progress=False, data=spatial_data())


def test_undecodable_validation_frames_are_counted_not_silently_dropped(tmp_path: Path) -> None:
    data = spatial_data()
    broken = data.validation.read_bytes
    data.validation.read_bytes = lambda index: b"broken" if index in (0, 5) else broken(index)  # type: ignore[method-assign]
    run = train_spatial(spatial_config(tmp_path, steps=2, eval_every=2), progress=False, data=data)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [row["val/undecodable_frames"] for row in rows if "val/undecodable_frames" in row] == [2]


def test_every_network_ends_annealed_whatever_the_student_wait(tmp_path: Path) -> None:
    # The student's scheduler steps only when the student does: its cosine spans the steps
    # after the wait, so it reaches eta_min at the last step as the teacher's does.
    config = spatial_config(tmp_path, steps=6, checkpoint_every=6, **{"ssl.student_wait_steps": 3})
    run = train_spatial(config, progress=False, data=spatial_data())
    state = json.loads((run / "checkpoints" / "step-00000006" / "state.json").read_text())
    lrs = {name: optimizer["param_groups"][0]["lr"] for name, optimizer in state["optimizers"].items()}
    assert lrs == pytest.approx({"teacher": 0.0, "student": 0.0}, abs=1e-12)
