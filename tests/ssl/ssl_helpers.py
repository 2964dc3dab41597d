"""Tiny networks and tasks for the stage-1 tests (milliseconds each)."""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from semifer.ssl.config import SSLConfig
from semifer.ssl.task import Network, TeacherStudentTask


def tiny_net(dim: int = 6, classes: int = 4, seed: int = 0, dtype: torch.dtype = torch.float64) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(dim, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, classes)).to(dtype)


def network(model: nn.Module, lr: float, momentum: float = 0.0) -> Network:
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    return Network(model, optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0))


def task(feedback: str = "exact", student_lr: float = 1e-3, momentum: float = 0.0, **ssl: object) -> TeacherStudentTask:
    config = SSLConfig(feedback=feedback, **ssl)  # type: ignore[arg-type]
    return TeacherStudentTask(
        network(tiny_net(seed=1), 1e-2, momentum),
        network(tiny_net(seed=2), student_lr, momentum),
        config,
        contextlib.nullcontext,
    )


def batch(n: int = 16, dim: int = 6, classes: int = 4, seed: int = 3) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(seed)
    x_lb = torch.randn(n, dim, generator=generator, dtype=torch.float64)
    y_lb = torch.randint(0, classes, (n,), generator=generator)
    x_ulb_w = torch.randn(n, dim, generator=generator, dtype=torch.float64)
    x_ulb_s = x_ulb_w + 0.1 * torch.randn(n, dim, generator=generator, dtype=torch.float64)
    return x_lb, y_lb, x_ulb_w, x_ulb_s
