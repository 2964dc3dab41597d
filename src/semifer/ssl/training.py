"""Stage 1 as tasks of the shared run loop (``semifer.runs.loop``): the teacher-student task
and the supervised baseline, each drawing its own batches and scoring the Aff-Wild2 validation.

The maths of a step lives in ``semifer.ssl.task``; this module feeds it data, keeps the
interval statistics and says what a stage-1 checkpoint holds (``model.json``, ``config.yaml``,
the feedback baseline).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch

from semifer.data.transforms import eval_transform
from semifer.models.backbone import MODEL_FILE, FrameModelSpec
from semifer.runs.distributed import Placement, broadcast_buffers, unwrap
from semifer.runs.loop import Validation
from semifer.runs.metrics import MetricsWriter
from semifer.runs.state import Network
from semifer.ssl.config import SpatialConfig
from semifer.ssl.data import SpatialData
from semifer.ssl.evaluate import evaluate, validation_items
from semifer.ssl.monitor import IntervalStats
from semifer.ssl.task import Autocast, SupervisedTask, TeacherStudentTask

Batches = Iterator[dict[str, Any]]


def autocast_for(config: SpatialConfig, placement: Placement) -> Autocast:
    """bfloat16 autocast on the run's device when ``bf16``, else a no-op context."""
    if not config.bf16:
        return contextlib.nullcontext
    return lambda: torch.autocast(placement.device.type, dtype=torch.bfloat16)


class SpatialTask:
    """What both stage-1 tasks share: batches to the device, interval rows, validation, files."""

    label = "stage 1"
    loss_keys = ("loss/teacher", "loss/supervised")

    def __init__(
        self, config: SpatialConfig, networks: dict[str, Network], spec: FrameModelSpec, data: SpatialData,
        placement: Placement, labeled: Batches,
    ) -> None:
        self.config, self.networks, self.spec, self.data, self.placement = config, networks, spec, data, placement
        self.labeled = labeled
        self.stats = IntervalStats(placement.device)
        self.validation = validation_items(data.validation, config.data.validation_max_frames) if data.validation else None

    def to_device(self, images: torch.Tensor) -> torch.Tensor:
        images = images.to(self.placement.device, non_blocking=True)
        return images.contiguous(memory_format=torch.channels_last) if self.config.channels_last else images

    def labeled_batch(self) -> tuple[torch.Tensor, torch.Tensor, int]:
        batch = next(self.labeled)
        return self.to_device(batch["images"]), batch["labels"].to(self.placement.device), batch["skipped"]

    def log_interval(self, writer: MetricsWriter | None, step: int) -> None:
        row = self.stats.summary(self.placement.world)
        if writer is not None:
            writer.write(step, row)
            writer.histogram("pseudo/labels", step, self.stats.histogram)
        self.stats.reset()

    def validate(self, step: int) -> Validation | None:
        """Score every network; the student's macro F1 picks ``best/`` (the network stage 2 uses).

        Every rank predicts its share of the frames with rank 0's BatchNorm statistics (the
        ones the checkpoint holds) and gets the same summed score.
        """
        if self.validation is None or self.data.validation is None:
            return None
        row: dict[str, Any] = {}
        for name, network in self.networks.items():
            model = unwrap(network.model)
            broadcast_buffers(model)
            report, skipped = evaluate(
                model, self.data.validation, self.validation, eval_transform(self.spec), self.placement.device,
                rank=self.placement.rank, world=self.placement.world,
            )
            row[f"val/{name}_macro_f1"] = report.macro_f1
            row["val/undecodable_frames"] = skipped
        return Validation(row["val/student_macro_f1"], row, {"val": row})

    def state(self) -> dict[str, Any]:
        return {}

    def load_state(self, state: dict[str, Any]) -> None:
        pass

    def files(self) -> dict[str, str]:
        return {MODEL_FILE: self.spec.to_json()}

    def tensors(self) -> dict[str, dict[str, torch.Tensor]]:
        return {}


class TeacherStudentRun(SpatialTask):
    """The method: labeled and unlabeled batches into ``TeacherStudentTask.train_step``."""

    def __init__(self, task: TeacherStudentTask, unlabeled: Batches, **shared: Any) -> None:
        super().__init__(networks={"teacher": task.teacher, "student": task.student}, **shared)
        self.task, self.unlabeled = task, unlabeled

    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        x_lb, y_lb, skipped = self.labeled_batch()
        batch = next(self.unlabeled)
        x_ulb_w, x_ulb_s = (self.to_device(views) for views in batch["images"])
        logs = self.task.train_step(x_lb, y_lb, x_ulb_w, x_ulb_s, step)
        truth = self.data.unlabeled_truth
        judged = truth[batch["indices"].numpy()] if truth is not None else None
        self.stats.add(logs, len(y_lb) + 2 * len(x_ulb_w), skipped + batch["skipped"], judged)
        return logs

    def state(self) -> dict[str, Any]:
        return {"baseline": float(self.task.baseline.value)}

    def load_state(self, state: dict[str, Any]) -> None:
        self.task.baseline.value = float(state.get("baseline", 0.0))


class SupervisedRun(SpatialTask):
    """The ablation baseline: labeled batches into ``SupervisedTask.train_step``."""

    def __init__(self, task: SupervisedTask, **shared: Any) -> None:
        super().__init__(networks={"student": task.student}, **shared)
        self.task = task

    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        x_lb, y_lb, skipped = self.labeled_batch()
        logs = self.task.train_step(x_lb, y_lb, step)
        self.stats.add(logs, len(y_lb), skipped, None)
        return logs
