"""Stage 1 as tasks of the shared run loop (``semifer.runs.loop``): the networks and their
optimizers, the teacher-student task and the supervised baseline, each drawing its own batches,
both ending with the optional fine-tune phase, and scoring the Aff-Wild2 validation.

The maths of a step lives in ``semifer.ssl.task``; this module feeds it data, keeps the
interval statistics and says what a stage-1 checkpoint holds (``model.json``, ``config.yaml``,
the feedback baseline).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from timm.optim import param_groups_weight_decay
from torch import nn

from semifer.data.transforms import eval_transform
from semifer.models.backbone import MODEL_FILE, FrameModelSpec, create_backbone
from semifer.runs.distributed import Placement, broadcast_buffers, unwrap, wrap
from semifer.runs.loop import Validation
from semifer.runs.metrics import MetricsWriter
from semifer.runs.schedule import warmup_cosine
from semifer.runs.state import Network
from semifer.ssl.config import OptimConfig, SpatialConfig
from semifer.ssl.data import SpatialData
from semifer.ssl.evaluate import evaluate, validation_items
from semifer.ssl.monitor import IntervalStats
from semifer.ssl.task import Autocast, SupervisedTask, TeacherStudentTask

Batches = Iterator[dict[str, Any]]


def build_network(
    config: SpatialConfig, lr: float, placement: Placement, seed: int, steps: int
) -> tuple[Network, FrameModelSpec]:
    """One backbone with SGD (momentum), warmed up and cosine-annealed over the ``steps`` it will train."""
    torch.manual_seed(seed)
    model_config = config.model
    model = create_backbone(model_config.backbone, model_config.num_classes, model_config.pretrained, model_config.channels)
    spec = FrameModelSpec.for_model(
        model, model_config.backbone, model_config.image_size, model_config.resize_size, model_config.channels
    )
    model = model.to(placement.device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model = wrap(model, placement)
    optimizer = sgd(model, lr, config.optim)
    return Network(model, optimizer, warmup_cosine(optimizer, steps, config.optim.warmup_steps, config.optim.eta_min)), spec


def finetune_network(model: nn.Module, config: SpatialConfig) -> Network:
    """The fine-tune phase's network: the same model, a fresh SGD at ``finetune.lr`` annealed over its steps."""
    optimizer = sgd(model, config.finetune.lr, config.optim)
    return Network(model, optimizer, warmup_cosine(optimizer, config.finetune.steps, eta_min=config.optim.eta_min))


def sgd(model: nn.Module, lr: float, optim: OptimConfig) -> torch.optim.SGD:
    """SGD with ``optim``'s momentum and weight decay; with ``decay_norm_and_bias=false`` the
    one-dimensional parameters (norm weights, biases) get none, as timm groups them."""
    plain = unwrap(model)
    groups = plain.parameters() if optim.decay_norm_and_bias else param_groups_weight_decay(plain, optim.weight_decay)
    nesterov = optim.nesterov and optim.momentum > 0
    return torch.optim.SGD(groups, lr=lr, momentum=optim.momentum, weight_decay=optim.weight_decay, nesterov=nesterov)


def autocast_for(config: SpatialConfig, placement: Placement) -> Autocast:
    """bfloat16 autocast on the run's device when ``bf16``, else a no-op context."""
    if not config.bf16:
        return contextlib.nullcontext
    return lambda: torch.autocast(placement.device.type, dtype=torch.bfloat16)


class SpatialTask:
    """What both stage-1 tasks share: batches to the device, the fine-tune phase, interval rows,
    validation, files. Steps ``0 .. steps - 1`` are the task's own; the ``finetune.steps``
    after them train the student alone on the labeled data with a fresh optimizer."""

    label = "stage 1"
    loss_keys = ("loss/teacher", "loss/supervised", "loss/finetune")

    def __init__(
        self, config: SpatialConfig, networks: dict[str, Network], spec: FrameModelSpec, data: SpatialData,
        placement: Placement, labeled: Batches, autocast: Autocast,
    ) -> None:
        self.config, self.networks, self.spec, self.data, self.placement = config, networks, spec, data, placement
        self.labeled, self.autocast = labeled, autocast
        self.stats = IntervalStats(placement.device)
        self.validation = validation_items(data.validation, config.data.validation_max_frames) if data.validation else None
        self.finetune: SupervisedTask | None = None

    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        if step < self.config.steps:
            return self.method_step(step)
        finetune = self.finetune or self.start_finetune()
        x_lb, y_lb, skipped = self.labeled_batch()
        logs = finetune.train_step(x_lb, y_lb, step)
        self.stats.add(logs, len(y_lb), skipped)
        return logs

    def method_step(self, step: int) -> dict[str, torch.Tensor]:
        """One step of the phase before the fine-tune (the method, or the baseline)."""
        raise NotImplementedError

    def start_finetune(self) -> SupervisedTask:
        """Swap in the student's fine-tune optimizer (at the phase's first step, or before a
        checkpoint saved inside the phase is loaded)."""
        network = finetune_network(self.networks["student"].model, self.config)
        self.networks["student"] = network
        self.finetune = SupervisedTask(network, self.autocast, self.config.label_smoothing, loss_key="loss/finetune")
        return self.finetune

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
        ones the checkpoint holds) and gets the same summed score. The smallest share of the
        frames a network gives to one class shows a collapse onto a few classes.
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
            predicted = report.matrix.sum(0)
            row[f"val/{name}_smallest_class_share"] = float(predicted.min() / max(predicted.sum(), 1))
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
    """The method: labeled and unlabeled batches into ``TeacherStudentTask.train_step``.

    Every ``ssl.diagnose_every`` steps the unlabeled batch's second weak view goes in too, and
    the step measures the loop before it moves either network.
    """

    def __init__(self, task: TeacherStudentTask, unlabeled: Batches, **shared: Any) -> None:
        networks = {"teacher": task.teacher, "student": task.student}
        if task.teacher_ema is not None:
            networks["teacher_ema"] = task.teacher_ema
        super().__init__(networks=networks, **shared)
        self.task, self.unlabeled = task, unlabeled

    def method_step(self, step: int) -> dict[str, torch.Tensor]:
        x_lb, y_lb, skipped = self.labeled_batch()
        batch = next(self.unlabeled)
        x_ulb_w, x_ulb_s, *second = (self.to_device(views) for views in batch["images"])
        every = self.config.ssl.diagnose_every
        x_ulb_w2 = second[0] if second and (step + 1) % every == 0 else None
        logs = self.task.train_step(x_lb, y_lb, x_ulb_w, x_ulb_s, step, x_ulb_w2)
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

    def method_step(self, step: int) -> dict[str, torch.Tensor]:
        x_lb, y_lb, skipped = self.labeled_batch()
        logs = self.task.train_step(x_lb, y_lb, step)
        self.stats.add(logs, len(y_lb), skipped)
        return logs
