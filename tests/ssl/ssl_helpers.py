"""Tiny networks and tasks for the stage-1 tests (milliseconds each)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from semifer.config import load_config
from semifer.data.base import FaceReader
from semifer.ssl.config import SpatialConfig, SSLConfig
from semifer.ssl.data import FacePool, SpatialData
from semifer.runs.state import Network
from semifer.ssl.task import TeacherStudentTask


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


class ColourFaces(FaceReader):
    """In-memory PNG faces whose colour pattern depends on the class; -1 items are unlabeled."""

    source = "memory"

    def __init__(self, labels: list[int], true: list[int] | None = None, size: int = 24, seed: int = 0) -> None:
        self._labels = np.asarray(labels, dtype=np.int64)
        self.true = np.asarray(true if true is not None else labels, dtype=np.int64)
        rng = np.random.default_rng(seed)
        self._noise = rng.integers(0, 40, size=(len(labels), size, size, 3), dtype=np.uint8)

    @property
    def labels(self) -> np.ndarray:
        return self._labels

    def read_bytes(self, index: int) -> bytes:
        image = self._noise[index].copy()
        cls = int(self.true[index])
        image[:, :, cls % 3] += 30 + 25 * cls
        ok, data = cv2.imencode(".png", image)
        assert ok
        return data.tobytes()

    def where(self, index: int) -> str:
        return f"memory#{index}"

    def key(self, index: int) -> str:
        return str(index)


def spatial_data(classes: int = 8, per_class: int = 4, unlabeled: int = 24) -> SpatialData:
    labels = [c for c in range(classes) for _ in range(per_class)]
    lb = ColourFaces(labels, seed=0)
    true_u = [i % classes for i in range(unlabeled)]
    ulb = ColourFaces([-1] * unlabeled, true=true_u, seed=1)
    validation = ColourFaces(labels, seed=2)
    data = SpatialData(
        FacePool([(lb, np.arange(len(labels)))], labeled=True),
        FacePool([(ulb, np.arange(unlabeled))], labeled=False),
        validation,
    )
    data.unlabeled_truth = np.asarray(true_u)
    return data


def spatial_config(tmp: Path, **overrides: object) -> SpatialConfig:
    items = [
        f"run_dir={tmp / 'run'}", "steps=4", "batch_size=4", "log_every=2", "eval_every=2",
        "checkpoint_every=2", "keep_last=2", "data.workers=0", "model.backbone=test_resnet",
        "model.image_size=32", "model.resize_size=36", "device=cpu",
    ] + [f"{key}={value}" for key, value in overrides.items()]
    return load_config(SpatialConfig, None, items)
