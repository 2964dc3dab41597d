"""The stage-1 training loop: start-up checks, resume, steps, logging, validation, checkpoints.

``train_spatial(config)`` is the one entry point (the CLI and the demo call it). Everything a
user can get wrong (keys, backbone, data paths, a class without labeled images, the resume
checkpoint) is checked before the first step.
"""

from __future__ import annotations

import contextlib
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import OmegaConf

from semifer.checkpoint import atomic_write_text, latest_checkpoint, prune_checkpoints, step_folder, tidy_run_folder
from semifer.data.sampling import UniformStream
from semifer.data.transforms import eval_transform
from semifer.errors import CheckpointError, ConfigError
from semifer.runfolder import run_lock
from semifer.ssl.config import CHOICES, SpatialConfig
from semifer.ssl.data import SpatialData, balanced_stream, build_data, infinite_loader, training_views
from semifer.ssl.distributed import Placement, barrier, broadcast_buffers, setup, teardown, unwrap
from semifer.ssl.evaluate import evaluate, validation_items
from semifer.ssl.monitor import IntervalStats, MetricsWriter
from semifer.ssl.progress import step_progress
from semifer.ssl.state import CONFIG_FILE, build_network, load_run_checkpoint, save_run_checkpoint
from semifer.ssl.task import NonFiniteLossError, SupervisedTask, TeacherStudentTask

log = logging.getLogger(__name__)


def check_choices(config: SpatialConfig) -> None:
    """Enumerated options, checked by name so the message names the key."""
    for key, allowed in CHOICES.items():
        value = OmegaConf.select(OmegaConf.structured(config), key)
        if value not in allowed:
            raise ConfigError(f"{key} must be one of {', '.join(allowed)}, not {value!r}")
    if config.steps <= 0 or config.batch_size <= 0 or config.ssl.uratio <= 0:
        raise ConfigError("steps, batch_size and ssl.uratio must be positive")


def resume_point(config: SpatialConfig) -> Path | None:
    """The checkpoint to start from, or None for a fresh run; refuses to overwrite a run.

    ``resume=true`` on a run killed before its first checkpoint starts it again from step 0.
    """
    if config.resume_from:
        folder = Path(config.resume_from)
        if not (folder / "state.json").is_file():
            raise CheckpointError(f"resume_from={folder} holds no checkpoint (no state.json)")
        return folder
    run_dir = Path(config.run_dir)
    latest = latest_checkpoint(run_dir / "checkpoints")
    if not config.resume:
        if latest is not None:
            raise ConfigError(f"run_dir {run_dir} already holds checkpoints: pass resume=true or another run_dir")
        return None
    return latest


def train_spatial(config: SpatialConfig, progress: bool = True, data: SpatialData | None = None) -> Path:
    """Train stage 1 as ``config`` says; returns the run folder.

    With ``resume=true`` a killed run continues from its last checkpoint and a finished one is
    returned at once. ``data`` replaces the configured sources (tests, notebooks). Rank 0 holds
    the run folder's lock for the whole run and first tidies what a killed run left half done.
    """
    check_choices(config)
    placement = setup(config.device)
    try:
        with run_lock(Path(config.run_dir), enabled=placement.is_main):
            if placement.is_main:
                tidy_run_folder(Path(config.run_dir))
            barrier()
            start = resume_point(config)
            if config.deterministic:
                torch.use_deterministic_algorithms(True)
            data = data if data is not None else build_data(config.data, config.seed)
            return _train(config, data, placement, start, progress)
    finally:
        teardown()


def _train(config: SpatialConfig, data: SpatialData, placement: Placement, start: Path | None, progress: bool) -> Path:
    run_dir = Path(config.run_dir)
    ssl = config.mode == "ssl"
    teacher, spec = build_network(config, config.optim.teacher_lr, placement, config.seed)
    student, _ = build_network(config, config.optim.student_lr, placement, config.seed + 1)
    networks = {"teacher": teacher, "student": student} if ssl else {"student": student}
    labeled_stream = balanced_stream(data.labeled, config.data, config.seed)
    unlabeled_stream = UniformStream(len(data.unlabeled), config.seed + 1) if ssl else None

    step, best = 0, -math.inf
    baseline = 0.0
    if start is not None:
        state = load_run_checkpoint(start, networks)
        step, best, baseline = int(state["step"]), float(state["best_macro_f1"]), float(state.get("baseline", 0.0))
        log.info("resumed from %s at step %d", start, step)
    if step >= config.steps:
        log.info("run %s already finished at step %d", run_dir, step)
        return run_dir

    autocast = _autocast(config, placement)
    task: TeacherStudentTask | SupervisedTask
    if ssl:
        task = TeacherStudentTask(teacher, student, config.ssl, autocast, config.label_smoothing)
        task.baseline.value = baseline
    else:
        task = SupervisedTask(student, autocast, config.label_smoothing)
    ordered = bool(config.data.decoded_cache) and placement.world > 1  # rank 0 builds the cache, the others open it
    if ordered and not placement.is_main:
        barrier()
    labeled_views, unlabeled_views = training_views(data, config.data, spec, config.seed, unlabeled_stream is not None)
    if ordered and placement.is_main:
        barrier()
    labeled = infinite_loader(
        labeled_views, labeled_stream, config.batch_size, placement.rank, placement.world, step, config.data.workers
    )
    unlabeled = None
    if unlabeled_stream is not None and unlabeled_views is not None:
        unlabeled = infinite_loader(
            unlabeled_views, unlabeled_stream, config.batch_size * config.ssl.uratio, placement.rank, placement.world,
            step, config.data.workers,
        )
    items = validation_items(data.validation, config.data.validation_max_frames) if data.validation else None
    writer = None
    if placement.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / CONFIG_FILE, OmegaConf.to_yaml(OmegaConf.structured(config)))
        writer = MetricsWriter(run_dir, step)
    stats = IntervalStats()
    device = placement.device
    last_saved = step
    with step_progress(config.steps, step, progress and placement.is_main) as advance:
        while step < config.steps:
            batch = next(labeled)
            x_lb, y_lb = _to(batch["images"], device, config), batch["labels"].to(device)
            images, skipped, truth = len(y_lb), batch["skipped"], None
            if unlabeled is not None:
                ubatch = next(unlabeled)
                x_ulb_w, x_ulb_s = (_to(v, device, config) for v in ubatch["images"])
                logs = task.train_step(x_lb, y_lb, x_ulb_w, x_ulb_s, step)  # type: ignore[call-arg]
                images, skipped = images + 2 * len(x_ulb_w), skipped + ubatch["skipped"]
                if data.unlabeled_truth is not None:
                    truth = data.unlabeled_truth[ubatch["indices"].numpy()]
            else:
                logs = task.train_step(x_lb, y_lb, step)  # type: ignore[call-arg]
            step += 1
            _check_finite(logs, step, last_saved)
            stats.add(logs, images, skipped, truth)
            if step % config.log_every == 0 or step == config.steps:
                row = stats.summary(placement.world)
                if writer is not None:
                    writer.write(step, row)
                    writer.histogram(step, stats.histogram)
                stats.reset()
            if items is not None and (step % config.eval_every == 0 or step == config.steps):
                best = _validate(config, networks, spec, data, items, placement, writer, step, best)
            if step % config.checkpoint_every == 0 or step == config.steps:
                if placement.is_main:
                    progress_state = {"step": step, "best_macro_f1": best, "baseline": _baseline(task)}
                    save_run_checkpoint(step_folder(run_dir / "checkpoints", step), networks, spec, config, progress_state)
                    prune_checkpoints(run_dir / "checkpoints", config.keep_last)
                last_saved = step
            advance(step, logs)
    if writer is not None:
        writer.close()
    return run_dir


def _validate(
    config: SpatialConfig, networks: dict[str, Any], spec: Any, data: SpatialData, items: np.ndarray,
    placement: Placement, writer: MetricsWriter | None, step: int, best: float,
) -> float:
    """Score every network; keep ``best/`` for the student (the network stage 2 uses).

    Every rank predicts its share of the frames with rank 0's BatchNorm statistics (the ones
    the checkpoint holds) and gets the same summed score, so no rank idles at a collective
    while one validates alone; rank 0 writes.
    """
    row = {}
    for name, network in networks.items():
        model = unwrap(network.model)
        broadcast_buffers(model)
        report, skipped = evaluate(  # type: ignore[arg-type]
            model, data.validation, items, eval_transform(spec), placement.device, rank=placement.rank, world=placement.world
        )
        row[f"val/{name}_macro_f1"] = report.macro_f1
        row["val/undecodable_frames"] = skipped
    if writer is not None:
        writer.write(step, row)
    f1 = row["val/student_macro_f1"]
    if placement.is_main:
        log.info("step %d: validation macro F1 %s", step, {k: round(v, 4) for k, v in row.items()})
        if row["val/undecodable_frames"]:
            log.warning("step %d: %d validation frames could not be decoded and are not scored", step, row["val/undecodable_frames"])
    if f1 > best:
        if placement.is_main:
            state = {"step": step, "best_macro_f1": f1, "val": row}
            save_run_checkpoint(Path(config.run_dir) / "best", networks, spec, config, state)
        return f1
    return best


def _check_finite(logs: dict[str, torch.Tensor], step: int, last_saved: int) -> None:
    for key, value in logs.items():
        if key.startswith("loss/") and not torch.isfinite(value).all():
            raise NonFiniteLossError(
                f"{key} is {float(value)} at step {step}; stopped without checkpointing it "
                f"(last checkpoint: step {last_saved})"
            )


def _to(images: torch.Tensor, device: torch.device, config: SpatialConfig) -> torch.Tensor:
    images = images.to(device, non_blocking=True)
    return images.contiguous(memory_format=torch.channels_last) if config.channels_last else images


def _autocast(config: SpatialConfig, placement: Placement) -> Any:
    if not config.bf16:
        return contextlib.nullcontext
    return lambda: torch.autocast(placement.device.type, dtype=torch.bfloat16)


def _baseline(task: TeacherStudentTask | SupervisedTask) -> float:
    return task.baseline.value if isinstance(task, TeacherStudentTask) else 0.0
