"""The feedback coefficient f of eq. 6 and its first-order form, and their helpers.

f = eta_S * <grad_theta' CE(y_lb, S(x_lb; theta')), g_u>, with g_u = grad_theta L_u the
gradient of the student's pseudo-label step theta -> theta'. f > 0 means the step on the
teacher's pseudo-labels lowered the student's loss on the labeled data, so the teacher is
rewarded for those labels (L_f = f * CE(y_hat, T(alpha(x_u))) is minimised).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


@contextmanager
def frozen_batchnorm_stats(model: nn.Module) -> Iterator[None]:
    """Forward in train mode with batch statistics but without updating the running ones.

    The student's labeled forwards (at theta for ``taylor``, at theta' for both modes) would
    otherwise update BatchNorm's running statistics two or three times per step; with this,
    only the pseudo-label forward that trains the student updates them, once per step.
    """
    layers = [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]
    for layer in layers:
        layer.track_running_stats = False
    try:
        yield
    finally:
        for layer in layers:
            layer.track_running_stats = True


def flat_dot(first: Sequence[torch.Tensor], second: Sequence[torch.Tensor]) -> torch.Tensor:
    """<a, b> over all parameters, as if each list were flattened into one vector."""
    return torch.stack([(a * b).sum() for a, b in zip(first, second, strict=True)]).sum()


def full_precision(logits: torch.Tensor) -> torch.Tensor:
    """Logits for the losses: bf16/fp16 autocast outputs go up to float32, float64 stays."""
    return logits if logits.dtype in (torch.float32, torch.float64) else logits.float()


def trainable(model: nn.Module) -> list[nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def gradient_copy(params: Sequence[nn.Parameter]) -> list[torch.Tensor]:
    """A copy of the current ``.grad`` of each parameter (zeros where there is none)."""
    return [p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p) for p in params]


def exact_feedback(
    student: nn.Module, x_lb: torch.Tensor, y_lb: torch.Tensor, g_u: Sequence[torch.Tensor], lr: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 6 at the student's current (post-step) weights: one extra backward of the labeled CE.

    Returns ``(f, labeled CE at theta')``; ``f`` is this process's value (all-reduce it).
    """
    params = trainable(student)
    loss_new = F.cross_entropy(full_precision(student(x_lb)), y_lb)
    g_lb = torch.autograd.grad(loss_new, params, allow_unused=True)
    g_lb = [g if g is not None else torch.zeros_like(p) for g, p in zip(g_lb, params)]
    return lr * flat_dot(g_lb, g_u).detach(), loss_new.detach()


def taylor_feedback(loss_old: torch.Tensor, loss_new: torch.Tensor) -> torch.Tensor:
    """First-order form of eq. 6: labeled CE before minus after the student step (detached).

    Equals eq. 6 to first order only when the step is theta' = theta - lr * g_u (plain SGD);
    momentum and weight decay change the step taken and the two drift apart.
    """
    return (loss_old - loss_new).detach()


class MovingBaseline:
    """Optional moving average of f subtracted from it (a variance-reduction baseline)."""

    def __init__(self, decay: float) -> None:
        self.decay = decay
        self.value: float | torch.Tensor = 0.0  # a tensor on f's device once updated: no host sync per step

    def __call__(self, f: torch.Tensor) -> torch.Tensor:
        if self.decay <= 0:
            return f
        centred = f - self.value
        self.value = self.decay * self.value + (1 - self.decay) * f.detach()
        return centred
