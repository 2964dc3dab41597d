"""Stage-2 training: the temporal encoder over cached student features, as a task of the
shared run loop (``semifer.runs``).

Run folder (the same as stage 1's)::

    <run>/config.yaml  <run>/metrics.jsonl  <run>/tb/
    <run>/checkpoints/step-XXXXXXXX/   temporal.safetensors, optimizer-temporal.safetensors, rng.safetensors,
                                       model.json, config.yaml, state.json, frame_encoder.safetensors and
                                       frame_encoder.json (the stage-1 network of the cache)
    <run>/best/                        the epoch with the best validation macro F1 (raw labels)

Validation and checkpoints come at the end of each epoch. Under torchrun the encoder is
DDP-wrapped and each rank trains on every world-th clip of the epoch's seeded order. With ``resume=true`` a run continues
from its latest checkpoint, only on the feature cache it was trained on. Shuffling and dropout
are seeded from ``seed + epoch``, so a resumed run draws the same clips as an uninterrupted one.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, RandomSampler, WeightedRandomSampler

from semifer.checkpoint import STATE_FILE, read_json
from semifer.errors import CheckpointError, ConfigError
from semifer.labels import UNLABELED
from semifer.models.temporal import MODEL_FILE, TemporalEncoder, model_description
from semifer.runs.distributed import Placement, barrier, setup, teardown, unwrap, wrap
from semifer.runs.folder import run_folder, start_point
from semifer.runs.loop import Schedule, Validation, run_task
from semifer.runs.metrics import MetricsWriter
from semifer.runs.state import Network
from semifer.temporal.config import Sampling, TemporalConfig
from semifer.temporal.dataset import ClipDataset
from semifer.temporal.evaluate import evaluate_cache
from semifer.temporal.features import FeatureCache

logger = logging.getLogger(__name__)
Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def masked_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """CE over the frames whose target is not -1 (unannotated, no face, padding); 0 if none."""
    flat_targets = targets.reshape(-1)
    if not (flat_targets != UNLABELED).any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), flat_targets, weight=weights, ignore_index=UNLABELED)


def _schedule(warmup: int, total: int):  # noqa: ANN202 - a LambdaLR factor function
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(total - warmup, 1)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return factor


class TemporalTask:
    """The temporal encoder trained on clips of the training cache, scored on the validation cache."""

    label = "stage 2"
    loss_keys = ("loss",)

    def __init__(self, config: TemporalConfig, train: FeatureCache, validation: FeatureCache, placement: Placement) -> None:
        self.config, self.validation, self.placement = config, validation, placement
        self.device = placement.device
        self.dataset = ClipDataset(train, config.clip_length, config.stride)
        encoder_config = replace(config.encoder, max_length=config.clip_length)
        torch.manual_seed(config.seed)
        model = TemporalEncoder(train.feature_dim, encoder_config).to(self.device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        model = wrap(model, placement)
        # Under torchrun each rank takes every world-th clip of the epoch's order (all ranks the same count).
        self.clips_per_rank = len(self.dataset) // placement.world
        self.steps_per_epoch = math.ceil(self.clips_per_rank / config.batch_size)
        total = config.epochs * self.steps_per_epoch
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(config.warmup_steps, total))
        self.networks = {"temporal": Network(model, optimizer, scheduler)}
        weights = self.dataset.class_weights(config.class_weighting)
        self.weights = weights.to(self.device) if weights is not None else None
        description = model_description(train.feature_dim, encoder_config, config.clip_length, config.inference_stride, train.index)
        description["spatial_checkpoint_digest"] = train.digest
        self.description = json.dumps(description, indent=2)
        # The stage-1 network of the cache travels in every checkpoint, so a checkpoint predicts on its own.
        self.encoder_tensors, self.encoder_files = train.frame_encoder().checkpoint_content()
        self.step = 0
        self.batches: Iterator[Batch] | None = None
        self.loss_sum, self.losses = torch.zeros((), device=self.device), 0

    @property
    def epoch(self) -> int:
        """Epochs finished."""
        return self.step // self.steps_per_epoch

    def _epoch_batches(self, epoch: int, skip: int) -> Iterator[Batch]:
        """The clips of ``epoch`` in their seeded order, from batch ``skip`` on."""
        torch.manual_seed(self.config.seed + epoch)
        generator = torch.Generator().manual_seed(self.config.seed + epoch)
        sampler = (
            WeightedRandomSampler(self.dataset.balanced_weights(), len(self.dataset), generator=generator)
            if self.config.sampling == Sampling.balanced
            else RandomSampler(self.dataset, generator=generator)
        )
        order = list(sampler)[self.placement.rank :: self.placement.world][: self.clips_per_rank]
        batches = iter(DataLoader(self.dataset, self.config.batch_size, sampler=order, num_workers=self.config.num_workers))
        for _ in range(skip):
            next(batches)
        return batches

    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        epoch, offset = divmod(step, self.steps_per_epoch)
        if self.batches is None or offset == 0:
            self.batches = self._epoch_batches(epoch, offset)
        features, mask, targets = next(self.batches)
        network = self.networks["temporal"]
        network.model.train()
        logits = network.model(features.to(self.device).float(), mask.to(self.device))
        loss = masked_cross_entropy(logits, targets.to(self.device), self.weights)
        network.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(network.model.parameters(), self.config.grad_clip)
        network.optimizer.step()
        network.scheduler.step()
        self.step = step + 1
        self.loss_sum += loss.detach()
        self.losses += 1
        return {"loss": loss.detach()}

    def log_interval(self, writer: MetricsWriter | None, step: int) -> None:
        row = {"epoch": (step - 1) // self.steps_per_epoch, "loss": float(self.loss_sum) / max(self.losses, 1),
               "lr": self.networks["temporal"].lr}
        if writer is not None:
            writer.write(step, row)
        self.loss_sum, self.losses = torch.zeros((), device=self.device), 0

    def validate(self, step: int) -> Validation:
        model = unwrap(self.networks["temporal"].model).eval()  # every rank scores the whole (small) cache
        config = self.config
        result = evaluate_cache(
            self.validation, model, config.clip_length, config.inference_stride, config.smoothing, config.smoothing_window
        )
        logger.info("epoch %d: validation macro F1 %.4f (smoothed %.4f)", self.epoch, result.raw.macro_f1, result.smoothed.macro_f1)
        row = {"epoch": self.epoch, "val_macro_f1": result.raw.macro_f1, "val_macro_f1_smoothed": result.smoothed.macro_f1}
        return Validation(result.raw.macro_f1, row, {"val_macro_f1": result.raw.macro_f1, "evaluation": result.as_dict()})

    def state(self) -> dict[str, Any]:
        # The logging interval under way: a resumed run's next row averages the same steps.
        interval = {"loss_sum": float(self.loss_sum), "losses": self.losses}
        return {"epoch": self.epoch, "config": asdict(self.config), "interval": interval}

    def load_state(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        self.loss_sum = torch.tensor(state["interval"]["loss_sum"], device=self.device)
        self.losses = int(state["interval"]["losses"])

    def files(self) -> dict[str, str]:
        return {MODEL_FILE: self.description, **self.encoder_files}

    def tensors(self) -> dict[str, dict[str, torch.Tensor]]:
        return self.encoder_tensors


def _check_same_features(checkpoint: Path, cache: FeatureCache) -> None:
    """A run resumes only on features of the stage-1 checkpoint it was trained on."""
    trained_on = read_json(checkpoint, MODEL_FILE).get("spatial_checkpoint_digest")
    features = read_json(checkpoint, STATE_FILE).get("config", {}).get("features")
    if trained_on != cache.digest:
        raise CheckpointError(
            f"{checkpoint} was trained on features of stage-1 checkpoint {str(trained_on)[:12]} ({features}), but "
            f"{cache.folder} holds features of {cache.digest[:12]} ({cache.index.get('checkpoint')}): "
            "use another run_dir to train on this cache"
        )


def train_temporal(config: TemporalConfig, progress: bool = True) -> Path:
    """Train the temporal encoder; returns the run folder (``best/`` holds the model to use)."""
    if config.clip_length < 1 or config.stride < 1 or config.inference_stride < 1:
        raise ConfigError("clip_length, stride and inference_stride must be positive")
    run = Path(config.run_dir)
    placement = setup(config.device)
    try:
        with run_folder(run, placement.is_main):
            barrier()  # rank 0 has tidied the folder
            start = start_point(run, config.resume)
            train_cache = FeatureCache(Path(config.features), config.train_split)
            validation_cache = FeatureCache(Path(config.features), config.validation_split, expected_digest=train_cache.digest)
            if start is not None:
                _check_same_features(start, train_cache)
                logger.info("resuming from %s", start)
            task = TemporalTask(config, train_cache, validation_cache, placement)
            steps = config.epochs * task.steps_per_epoch
            schedule = Schedule(steps, config.log_every, task.steps_per_epoch, task.steps_per_epoch, config.keep_last)
            return run_task(task, schedule, run, start, placement.is_main, progress)
    finally:
        teardown()
