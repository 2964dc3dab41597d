"""The feedback coefficient: its sign, exact vs taylor, and an independent reference."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from ssl_helpers import batch, task

CLASSES = 4


def _teacher_predicting(labels_of_class: list[int]) -> torch.nn.Module:
    """A fixed linear teacher whose argmax on e_c (+ small noise) is labels_of_class[c]."""
    teacher = torch.nn.Linear(CLASSES, CLASSES, bias=False).double()
    with torch.no_grad():
        teacher.weight.zero_()
        for c, target in enumerate(labels_of_class):
            teacher.weight[target, c] = 10.0
    return teacher


@pytest.mark.parametrize("mode", ["exact", "taylor"])
@pytest.mark.parametrize("correct", [True, False])
def test_feedback_sign(mode: str, correct: bool) -> None:
    """f > 0 when the pseudo-labels are the true labels of the labeled batch, f < 0 when wrong."""
    from ssl_helpers import network, tiny_net

    generator = torch.Generator().manual_seed(0)
    y_lb = torch.arange(32) % CLASSES
    x_lb = F.one_hot(y_lb, CLASSES).double() + 0.05 * torch.randn(32, CLASSES, generator=generator, dtype=torch.float64)
    mapping = list(range(CLASSES)) if correct else [(c + 1) % CLASSES for c in range(CLASSES)]
    job = task(mode, student_lr=0.1)
    job.teacher = network(_teacher_predicting(mapping), 1e-2)
    job.student = network(tiny_net(dim=CLASSES, classes=CLASSES, seed=5), 0.1)
    logs = job.train_step(x_lb, y_lb, x_lb, x_lb, step=0)
    assert torch.equal(logs["pseudo_labels"], torch.tensor(mapping)[y_lb])
    assert (logs["feedback/f"] > 0) == correct
    assert logs["feedback/f"].abs() > 1e-4


def test_taylor_agrees_with_exact_for_plain_sgd() -> None:
    """Same start, same batch, lr 1e-3, no momentum: the two forms agree within 3%."""
    for seed in range(3):
        x = batch(seed=seed)
        exact = task("exact", student_lr=1e-3).train_step(*x, step=0)["feedback/f"]
        taylor = task("taylor", student_lr=1e-3).train_step(*x, step=0)["feedback/f"]
        assert abs(exact) > 1e-6
        assert torch.isclose(taylor, exact, rtol=0.03), (seed, float(exact), float(taylor))


def test_momentum_makes_taylor_drift_from_exact() -> None:
    """With momentum the step taken is not lr * g_u: after a few steps the two forms part."""
    exact, taylor = task("exact", 1e-3, momentum=0.9), task("taylor", 1e-3, momentum=0.9)
    ratios = []
    for step in range(6):
        x = batch(seed=step)
        ratios.append(float(taylor.train_step(*x, step)["feedback/f"] / exact.train_step(*x, step)["feedback/f"]))
    assert max(abs(r - 1) for r in ratios[2:]) > 0.2


def _grad_vector(model: torch.nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    loss = F.cross_entropy(model(x), target)
    return parameters_to_vector(torch.autograd.grad(loss, list(model.parameters())))


def test_exact_matches_autograd_reference() -> None:
    """f = lr * <grad CE_lb(theta'), grad L_u(theta)> over flattened parameters, recomputed apart."""
    lr = 0.05
    job = task("exact", student_lr=lr)
    x_lb, y_lb, x_ulb_w, x_ulb_s = batch(seed=7)
    start = copy.deepcopy(job.student.model)
    logs = job.train_step(x_lb, y_lb, x_ulb_w, x_ulb_s, step=0)

    g_u = _grad_vector(start, x_ulb_s, logs["pseudo_labels"])
    after = copy.deepcopy(start)
    vector_to_parameters(parameters_to_vector(start.parameters()) - lr * g_u, after.parameters())
    assert torch.allclose(parameters_to_vector(after.parameters()), parameters_to_vector(job.student.model.parameters()))
    reference = lr * torch.dot(_grad_vector(after, x_lb, y_lb), g_u)
    assert torch.isclose(logs["feedback/f"], reference, rtol=1e-9, atol=1e-12)


def test_one_step_changes_both_networks_and_bn_updates_once() -> None:
    job = task("exact")
    teacher_before = parameters_to_vector(job.teacher.model.parameters()).clone()
    student_before = parameters_to_vector(job.student.model.parameters()).clone()
    job.train_step(*batch(), step=0)
    assert not torch.equal(teacher_before, parameters_to_vector(job.teacher.model.parameters()))
    assert not torch.equal(student_before, parameters_to_vector(job.student.model.parameters()))
    bn = job.student.model[1]
    assert int(bn.num_batches_tracked) == 1  # the labeled forwards leave running stats alone


def test_student_wait_and_feedback_none() -> None:
    job = task("exact", student_wait_steps=2)
    student_before = parameters_to_vector(job.student.model.parameters()).clone()
    logs = job.train_step(*batch(), step=0)
    assert torch.equal(student_before, parameters_to_vector(job.student.model.parameters()))
    assert float(logs["loss/feedback"]) == 0.0
    logs = task("none").train_step(*batch(), step=0)
    assert float(logs["feedback/f_used"]) == 0.0 and "loss/unlabeled" in logs
