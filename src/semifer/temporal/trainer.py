"""Stage-2 training: the temporal encoder over cached student features.

Run folder (same conventions as stage 1)::

    <run>/config.yaml  <run>/metrics.jsonl  <run>/tb/
    <run>/checkpoints/step-XXXXXXXX/   temporal.safetensors, optimizer.safetensors, model.json, state.json
    <run>/best/                        the epoch with the best validation macro F1 (raw labels)

Checkpoints are written at the end of each epoch, ``best/`` first, so the latest checkpoint never
records a best F1 that ``best/`` does not hold; with ``resume=true`` a run restarts from the
latest one (from step 0 if it has none), only on the feature cache it was trained on. Shuffling
and dropout are seeded from ``seed + epoch``, so a resumed run draws the same clips as an
uninterrupted one without storing RNG state. The run holds its folder's lock throughout.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from torch.utils.data import DataLoader, RandomSampler, WeightedRandomSampler
from torch.utils.tensorboard import SummaryWriter

from semifer.checkpoint import (
    latest_checkpoint,
    load_checkpoint,
    prune_checkpoints,
    save_checkpoint,
    step_folder,
    tidy_run_folder,
)
from semifer.config import save_config
from semifer.errors import CheckpointError, ConfigError
from semifer.labels import UNLABELED
from semifer.models.temporal import MODEL_FILE, TemporalEncoder, model_description
from semifer.runfolder import drop_metrics_after, run_lock
from semifer.temporal.config import TemporalConfig
from semifer.temporal.dataset import ClipDataset
from semifer.temporal.evaluate import evaluate_cache
from semifer.temporal.features import FeatureCache

logger = logging.getLogger(__name__)


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


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Flatten an optimizer state into safetensors-ready tensors plus JSON (no pickle)."""
    state = optimizer.state_dict()
    tensors = {f"{index}.{key}": value for index, slots in state["state"].items() for key, value in slots.items()}
    return tensors, {"param_groups": state["param_groups"]}


def _load_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups: list[dict[str, Any]]) -> None:
    slots: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        index, name = key.split(".", 1)
        slots.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": slots, "param_groups": groups})


def _device(name: str) -> torch.device:
    return torch.device(("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name)


def _check(config: TemporalConfig) -> None:
    if config.sampling not in ("shuffle", "balanced"):
        raise ConfigError(f"sampling must be shuffle or balanced, got {config.sampling!r}")
    if config.clip_length < 1 or config.stride < 1 or config.inference_stride < 1:
        raise ConfigError("clip_length, stride and inference_stride must be positive")


def _check_same_features(checkpoint: Path, cache: FeatureCache) -> None:
    """A run resumes only on features of the stage-1 checkpoint it was trained on."""
    try:
        trained_on = json.loads((checkpoint / MODEL_FILE).read_text()).get("spatial_checkpoint_digest")
        features = json.loads((checkpoint / "state.json").read_text())["config"]["features"]
    except (OSError, json.JSONDecodeError, KeyError) as error:
        raise CheckpointError(f"corrupt checkpoint {checkpoint}: {error}") from None
    if trained_on != cache.digest:
        raise CheckpointError(
            f"{checkpoint} was trained on features of stage-1 checkpoint {str(trained_on)[:12]} ({features}), but "
            f"{cache.folder} holds features of {cache.digest[:12]} ({cache.index.get('checkpoint')}): "
            "use another run_dir to train on this cache"
        )


def train_temporal(config: TemporalConfig, progress: bool = True) -> Path:
    """Train the temporal encoder; returns the run folder (``best/`` holds the model to use)."""
    _check(config)
    run = Path(config.run_dir)
    with run_lock(run):
        tidy_run_folder(run)
        return _train(config, run, progress)


def _train(config: TemporalConfig, run: Path, progress: bool) -> Path:
    save_config(config, run / "config.yaml")
    device = _device(config.device)
    train_cache = FeatureCache(Path(config.features), config.train_split)
    validation_cache = FeatureCache(Path(config.features), config.validation_split, expected_digest=train_cache.digest)
    dataset = ClipDataset(train_cache, config.clip_length, config.stride)
    encoder_config = replace(config.encoder, max_length=config.clip_length)
    torch.manual_seed(config.seed)
    model = TemporalEncoder(train_cache.feature_dim, encoder_config).to(device)
    weights = dataset.class_weights(config.class_weighting)
    weights = weights.to(device) if weights is not None else None
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(dataset) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(config.warmup_steps, config.epochs * steps_per_epoch))
    description = model_description(train_cache.feature_dim, encoder_config, config.clip_length, config.inference_stride, train_cache.index)
    description["spatial_checkpoint_digest"] = train_cache.digest

    epoch, step, best = 0, 0, -1.0
    latest = latest_checkpoint(run / "checkpoints") if config.resume else None
    if latest is not None:
        _check_same_features(latest, train_cache)
        tensors, state = load_checkpoint(latest, ["temporal", "optimizer"])
        model.load_state_dict(tensors["temporal"])
        _load_optimizer(optimizer, tensors["optimizer"], state["param_groups"])
        scheduler.load_state_dict(state["scheduler"])
        epoch, step, best = state["epoch"], state["step"], state["best_macro_f1"]
        logger.info("resumed from %s (epoch %d, step %d)", latest, epoch, step)

    drop_metrics_after(run / "metrics.jsonl", step)
    writer = SummaryWriter(str(run / "tb"), purge_step=step + 1)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[status]}"), TimeRemainingColumn())
    with Progress(*columns, disable=not progress) as bar, open(run / "metrics.jsonl", "a") as metrics:
        task = bar.add_task("train-temporal", total=config.epochs * steps_per_epoch, completed=step, status="")
        while epoch < config.epochs:
            torch.manual_seed(config.seed + epoch)
            generator = torch.Generator().manual_seed(config.seed + epoch)
            sampler = (
                WeightedRandomSampler(dataset.balanced_weights(), len(dataset), generator=generator)
                if config.sampling == "balanced"
                else RandomSampler(dataset, generator=generator)
            )
            loader = DataLoader(dataset, config.batch_size, sampler=sampler, num_workers=config.num_workers)
            model.train()
            for features, mask, targets in loader:
                logits = model(features.to(device).float(), mask.to(device))
                loss = masked_cross_entropy(logits, targets.to(device), weights)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                optimizer.step()
                scheduler.step()
                step += 1
                if step % config.log_every == 0:
                    record = {"step": step, "epoch": epoch, "loss": loss.item(), "lr": scheduler.get_last_lr()[0]}
                    metrics.write(json.dumps(record) + "\n")
                    writer.add_scalar("train/loss", record["loss"], step)
                    writer.add_scalar("train/lr", record["lr"], step)
                bar.update(task, advance=1, status=f"epoch {epoch + 1} loss {loss.item():.3f} best F1 {max(best, 0):.3f}")
            epoch += 1
            model.eval()
            result = evaluate_cache(
                validation_cache, model, config.clip_length, config.inference_stride, config.smoothing, config.smoothing_window
            )
            record = {"step": step, "epoch": epoch, "val_macro_f1": result.raw.macro_f1, "val_macro_f1_smoothed": result.smoothed.macro_f1}
            metrics.write(json.dumps(record) + "\n")
            metrics.flush()
            writer.add_scalar("val/macro_f1", result.raw.macro_f1, step)
            writer.add_scalar("val/macro_f1_smoothed", result.smoothed.macro_f1, step)
            logger.info("epoch %d: validation macro F1 %.4f (smoothed %.4f)", epoch, result.raw.macro_f1, result.smoothed.macro_f1)
            improved = result.raw.macro_f1 > best
            best = max(best, result.raw.macro_f1)
            optimizer_tensors, optimizer_json = _optimizer_tensors(optimizer)
            state = {"epoch": epoch, "step": step, "best_macro_f1": best, "val_macro_f1": result.raw.macro_f1,
                     "scheduler": scheduler.state_dict(), **optimizer_json, "config": asdict(config)}
            files = {MODEL_FILE: json.dumps(description, indent=2), "config.yaml": (run / "config.yaml").read_text()}
            if improved:
                save_checkpoint(run / "best", {"temporal": model.state_dict()}, {**state, "evaluation": result.as_dict()}, files)
            save_checkpoint(step_folder(run / "checkpoints", step), {"temporal": model.state_dict(), "optimizer": optimizer_tensors}, state, files)
            prune_checkpoints(run / "checkpoints", config.keep_last)
    writer.close()
    return run
