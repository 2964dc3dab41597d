"""The references' student as options: L_u smoothing, the labeled batch through the student,
weight decay without norm and bias, warm-up; and the loop's diagnostics."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import precision_score, recall_score
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from semifer.runs.distributed import Placement
from semifer.ssl.monitor import IntervalStats
from semifer.ssl.training import build_network

from ssl_helpers import batch, spatial_config, task


def _grad_vector(model: torch.nn.Module, loss: torch.Tensor) -> torch.Tensor:
    return parameters_to_vector(torch.autograd.grad(loss, list(model.parameters())))


@pytest.mark.parametrize("forward_labeled", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.15])
def test_student_step_and_feedback_match_a_reference(forward_labeled: bool, smoothing: float) -> None:
    """L_u = CE with smoothing on the unlabeled part of the student's forward (of cat(x_lb, A(x_u))
    when the labeled batch goes through it), and f = lr <grad CE_lb(theta'), grad L_u(theta)>."""
    lr = 0.05
    job = task("exact", student_lr=lr, unlabeled_label_smoothing=smoothing, student_forward_labeled=forward_labeled)
    x_lb, y_lb, x_ulb_w, x_ulb_s = batch(seed=11)
    start = copy.deepcopy(job.student.model)
    logs = job.train_step(x_lb, y_lb, x_ulb_w, x_ulb_s, step=0)

    reference = copy.deepcopy(start)
    inputs = torch.cat((x_lb, x_ulb_s)) if forward_labeled else x_ulb_s
    loss_u = F.cross_entropy(reference(inputs)[-len(x_ulb_s) :], logs["pseudo_labels"], label_smoothing=smoothing)
    assert torch.isclose(logs["loss/unlabeled"], loss_u.detach(), rtol=1e-12)
    g_u = _grad_vector(reference, loss_u)
    after = copy.deepcopy(start)
    vector_to_parameters(parameters_to_vector(start.parameters()) - lr * g_u, after.parameters())
    assert torch.allclose(parameters_to_vector(after.parameters()), parameters_to_vector(job.student.model.parameters()))
    expected_f = lr * torch.dot(_grad_vector(after, F.cross_entropy(after(x_lb), y_lb)), g_u)
    assert torch.isclose(logs["feedback/f"], expected_f, rtol=1e-9, atol=1e-12)
    # BatchNorm's running mean saw the labeled images only when they went through the student.
    features = start[0](inputs).detach()
    expected_mean = 0.1 * features.mean(0)
    assert torch.allclose(job.student.model[1].running_mean, expected_mean)


def test_diagnostics_measure_the_loop_and_change_nothing() -> None:
    x_lb, y_lb, x_ulb_w, x_ulb_s = batch(seed=5)
    plain, measured = task("exact"), task("exact")
    logs = plain.train_step(x_lb, y_lb, x_ulb_w, x_ulb_s, 0)
    again = torch.randn(x_ulb_w.shape, generator=torch.Generator().manual_seed(9), dtype=x_ulb_w.dtype)
    teacher, student = copy.deepcopy(measured.teacher.model), copy.deepcopy(measured.student.model)
    diagnosed = measured.train_step(x_lb, y_lb, x_ulb_w, x_ulb_s, 0, again)
    for key, value in logs.items():
        assert torch.equal(value, diagnosed[key]), key
    for name in ("teacher", "student"):
        before, after = getattr(plain, name).model, getattr(measured, name).model
        assert torch.equal(parameters_to_vector(before.parameters()), parameters_to_vector(after.parameters()))
        assert torch.equal(before[1].running_mean, after[1].running_mean)
        assert int(after[1].num_batches_tracked) == 1

    n = len(x_lb)
    with torch.no_grad():
        y_hat = logs["pseudo_labels"]
        second = teacher.train()(torch.cat((x_lb, again, x_ulb_s)))[n : 2 * n].argmax(-1)
        answers = student.train()(x_ulb_w).argmax(-1)
    assert float(diagnosed["loop/teacher_self_agreement"]) == pytest.approx(float((second == y_hat).double().mean()))
    assert float(diagnosed["loop/student_agreement"]) == pytest.approx(float((answers == y_hat).double().mean()))
    same_view = task("exact").train_step(x_lb, y_lb, x_ulb_w, x_ulb_s, 0, x_ulb_w)
    assert float(same_view["loop/teacher_self_agreement"]) == 1.0


def test_interval_pseudo_label_precision_recall_and_feedback_by_rightness() -> None:
    rng = np.random.default_rng(0)
    stats = IntervalStats(torch.device("cpu"))
    truths, labels = [], []
    for step, f in enumerate((0.5, -0.2, 0.1, 0.3)):
        truth = rng.integers(0, 8, 32)
        # Steps 0 and 3: 75% of the pseudo-labels right; steps 1 and 2: 25%.
        right = rng.random(32) < (0.75 if step in (0, 3) else 0.25)
        pseudo = np.where(right, truth, (truth + 1 + rng.integers(0, 7, 32)) % 8)
        logs = {"pseudo_labels": torch.as_tensor(pseudo), "feedback/f": torch.tensor(f), "loss/unlabeled": torch.tensor(1.0)}
        if step == 0:
            logs["loop/student_agreement"] = torch.tensor(0.25)
        stats.add(logs, 32, 0, truth)
        truths.append(truth)
        labels.append(pseudo)
    row = stats.summary(1)
    truth, pseudo = np.concatenate(truths), np.concatenate(labels)
    precision = precision_score(truth, pseudo, labels=range(8), average=None, zero_division=0)
    recall = recall_score(truth, pseudo, labels=range(8), average=None, zero_division=0)
    from semifer.labels import ABAW_CLASSES

    for number, name in enumerate(ABAW_CLASSES):
        assert row[f"pseudo/precision/{name}"] == pytest.approx(precision[number])
        assert row[f"pseudo/recall/{name}"] == pytest.approx(recall[number])
    assert row["pseudo/accuracy"] == pytest.approx(float((truth == pseudo).mean()))
    assert row["feedback/f_mostly_right"] == pytest.approx((0.5 + 0.3) / 2)
    assert row["feedback/f_mostly_wrong"] == pytest.approx((-0.2 + 0.1) / 2)
    assert row["feedback/mostly_right_share"] == 0.5
    assert row["loop/student_agreement"] == 0.25  # the mean over the steps that measured it


def test_weight_decay_skips_norm_and_bias_only_when_asked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    placement = Placement(0, 1, torch.device("cpu"))
    for decay_norm_and_bias in (True, False):
        config = spatial_config(tmp_path, **{"optim.decay_norm_and_bias": decay_norm_and_bias, "optim.weight_decay": 0.01})
        network, _ = build_network(config, 0.1, placement, seed=0, steps=10)
        decays = {id(p): group["weight_decay"] for group in network.optimizer.param_groups for p in group["params"]}
        for name, parameter in network.model.named_parameters():
            skipped = not decay_norm_and_bias and (parameter.ndim <= 1)
            assert decays[id(parameter)] == (0.0 if skipped else 0.01), name


def test_warmup_rises_linearly_then_anneals(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = spatial_config(tmp_path, steps=12, **{"optim.warmup_steps": 4})
    network, _ = build_network(config, 0.1, Placement(0, 1, torch.device("cpu")), seed=0, steps=12)
    rates = []
    for _ in range(12):
        rates.append(network.lr)
        network.optimizer.step()
        network.scheduler.step()
    assert rates[:5] == pytest.approx([0.025, 0.04375, 0.0625, 0.08125, 0.1])
    assert all(a > b for a, b in zip(rates[4:], rates[5:])) and network.lr == pytest.approx(0.0)


def _rows(run) -> list[dict]:  # type: ignore[no-untyped-def]
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_finetune_phase_trains_the_student_alone_at_its_own_rate(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from safetensors.torch import load_file

    from semifer.ssl.loop import train_spatial
    from ssl_helpers import spatial_data

    config = spatial_config(tmp_path, steps=4, keep_last=4, **{"finetune.steps": 4, "finetune.lr": 0.02})
    run = train_spatial(config, progress=False, data=spatial_data())
    rows = [r for r in _rows(run) if "lr/student" in r]
    assert [r["step"] for r in rows] == [2, 4, 6, 8]
    assert "loss/unlabeled" in rows[1] and "loss/finetune" not in rows[1]
    assert "loss/finetune" in rows[2] and "loss/teacher" not in rows[2] and "loss/unlabeled" not in rows[2]
    assert rows[2]["lr/student"] == pytest.approx((0.02 + 0.02 * (1 + np.cos(np.pi / 4)) / 2) / 2)
    at_4, at_8 = (load_file(run / "checkpoints" / f"step-0000000{s}" / "teacher.safetensors") for s in (4, 8))
    assert all(torch.equal(at_4[k], at_8[k]) for k in at_4)  # the teacher rests
    student_4, student_8 = (load_file(run / "checkpoints" / f"step-0000000{s}" / "student.safetensors") for s in (4, 8))
    assert not all(torch.equal(student_4[k], student_8[k]) for k in student_4)

    baseline = train_spatial(
        spatial_config(tmp_path / "b", mode="supervised", steps=4, **{"finetune.steps": 4, "finetune.lr": 0.02}),
        progress=False, data=spatial_data(),
    )
    rows = [r for r in _rows(baseline) if "lr/student" in r]
    assert [r["step"] for r in rows] == [2, 4, 6, 8] and "loss/finetune" in rows[-1] and "loss/supervised" in rows[1]


class Killed(Exception):
    pass


@pytest.mark.parametrize("killed_at", [5, 7])  # resumed from the checkpoint at the phase's start, or inside it
def test_run_killed_in_its_finetune_phase_resumes_bit_identically(tmp_path, monkeypatch, killed_at: int) -> None:  # type: ignore[no-untyped-def]
    from safetensors.torch import load_file

    from semifer.ssl.loop import train_spatial
    from semifer.ssl.training import SpatialTask
    from ssl_helpers import spatial_data

    settings = {"steps": 4, "checkpoint_every": 2, "eval_every": 100, "finetune.steps": 4, "finetune.lr": 0.02}
    full = train_spatial(spatial_config(tmp_path / "a", **settings), progress=False, data=spatial_data())
    real = SpatialTask.train_step

    def killed(self: SpatialTask, step: int) -> dict[str, torch.Tensor]:
        if step == killed_at:
            raise Killed
        return real(self, step)

    with monkeypatch.context() as patch:
        patch.setattr(SpatialTask, "train_step", killed)
        with pytest.raises(Killed):
            train_spatial(spatial_config(tmp_path / "b", **settings), progress=False, data=spatial_data())
    resumed = train_spatial(spatial_config(tmp_path / "b", resume="true", **settings), progress=False, data=spatial_data())
    for name in ("teacher", "student", "optimizer-student"):
        a = load_file(full / "checkpoints" / "step-00000008" / f"{name}.safetensors")
        b = load_file(resumed / "checkpoints" / "step-00000008" / f"{name}.safetensors")
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    timeless = [[{k: v for k, v in row.items() if k != "images_per_s"} for row in _rows(run)] for run in (full, resumed)]
    assert timeless[0] == timeless[1]


def test_finetune_without_labeled_data_is_named_before_any_step(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from semifer.errors import ConfigError
    from semifer.ssl.data import FacePool
    from semifer.ssl.loop import train_spatial
    from ssl_helpers import spatial_data

    data = spatial_data()
    data.labeled = FacePool([], labeled=True)
    with pytest.raises(ConfigError, match="finetune.steps") as caught:
        train_spatial(spatial_config(tmp_path, **{"finetune.steps": 2}), progress=False, data=data)
    assert "\n" not in str(caught.value) and not (tmp_path / "run" / "metrics.jsonl").exists()


def test_pseudo_labels_from_a_moving_average_of_the_teacher() -> None:
    decay = 0.9
    job = task("exact", teacher_ema=decay)
    start = copy.deepcopy(job.teacher.model).eval()
    x_lb, y_lb, x_ulb_w, x_ulb_s = batch(seed=3)
    logs = job.train_step(x_lb, y_lb, x_ulb_w, x_ulb_s, 0)
    with torch.no_grad():
        assert torch.equal(logs["pseudo_labels"], start(x_ulb_w).argmax(-1))  # eval mode, the average so far
    after_first = copy.deepcopy(job.teacher.model)
    job.train_step(*batch(seed=4), 1)
    average = job.teacher_ema.model.module  # type: ignore[union-attr]
    for name, value in average.state_dict().items():
        expected = after_first.state_dict()[name]
        if value.is_floating_point():
            expected = decay * expected + (1 - decay) * job.teacher.model.state_dict()[name]
        assert torch.allclose(value, expected, rtol=1e-12), name


def test_teacher_average_is_checkpointed_scored_and_resumed(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from safetensors.torch import load_file

    from semifer.ssl.loop import train_spatial
    from semifer.ssl.training import SpatialTask
    from ssl_helpers import spatial_data

    settings = {"steps": 6, "checkpoint_every": 3, "eval_every": 3, "ssl.teacher_ema": 0.5}
    full = train_spatial(spatial_config(tmp_path / "a", **settings), progress=False, data=spatial_data())
    last = full / "checkpoints" / "step-00000006"
    assert (last / "teacher_ema.safetensors").is_file() and not (last / "optimizer-teacher_ema.safetensors").exists()
    assert any("val/teacher_ema_macro_f1" in row for row in _rows(full))
    real = SpatialTask.train_step

    def killed(self: SpatialTask, step: int) -> dict[str, torch.Tensor]:
        if step == 4:
            raise Killed
        return real(self, step)

    with monkeypatch.context() as patch:
        patch.setattr(SpatialTask, "train_step", killed)
        with pytest.raises(Killed):
            train_spatial(spatial_config(tmp_path / "b", **settings), progress=False, data=spatial_data())
    resumed = train_spatial(spatial_config(tmp_path / "b", resume="true", **settings), progress=False, data=spatial_data())
    for name in ("teacher_ema", "student"):
        a, b = (load_file(run / "checkpoints" / "step-00000006" / f"{name}.safetensors") for run in (full, resumed))
        assert all(torch.equal(a[k], b[k]) for k in a), name


@pytest.mark.parametrize("decoded_cache", [False, True])
def test_a_run_trains_the_same_with_or_without_its_diagnostics(tmp_path, decoded_cache: bool) -> None:  # type: ignore[no-untyped-def]
    from safetensors.torch import load_file

    from semifer.ssl.loop import train_spatial
    from ssl_helpers import spatial_data

    cache = {"data.decoded_cache": str(tmp_path / "cache")} if decoded_cache else {}
    runs = [
        train_spatial(spatial_config(tmp_path / str(every), **{"ssl.diagnose_every": every}, **cache), progress=False, data=spatial_data())
        for every in (0, 2)
    ]
    assert not any("loop/student_agreement" in row for row in _rows(runs[0]))
    assert sum("loop/student_agreement" in row for row in _rows(runs[1])) == 2
    for name in ("teacher", "student"):
        a, b = (load_file(run / "checkpoints" / "step-00000004" / f"{name}.safetensors") for run in runs)
        assert all(torch.equal(a[k], b[k]) for k in a), name
