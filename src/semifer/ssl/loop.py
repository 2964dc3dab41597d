"""Stage 1's entry point: start-up checks, the networks, the data, then the shared run loop.

``train_spatial(config)`` is the one entry point (the CLI and the demo call it). Everything a
user can get wrong (keys, choices, backbone, data paths, a class without labeled images, the
resume checkpoint) is checked before the first step.
"""

from __future__ import annotations

from pathlib import Path

import torch

from semifer.checkpoint import STATE_FILE, read_json
from semifer.data.sampling import UniformStream
from semifer.errors import ConfigError
from semifer.runs.distributed import Placement, barrier, setup, teardown
from semifer.runs.folder import run_folder, start_point
from semifer.runs.loop import Schedule, run_task
from semifer.ssl.config import Mode, SpatialConfig
from semifer.ssl.data import SpatialData, balanced_stream, build_data, infinite_loader, training_views
from semifer.ssl.task import SupervisedTask, TeacherStudentTask
from semifer.ssl.training import SpatialTask, SupervisedRun, TeacherStudentRun, autocast_for, build_network


def train_spatial(config: SpatialConfig, progress: bool = True, data: SpatialData | None = None) -> Path:
    """Train stage 1 as ``config`` says; returns the run folder.

    With ``resume=true`` a killed run continues from its last checkpoint and a finished one is
    returned at once. ``data`` replaces the configured sources (tests, notebooks). Rank 0 holds
    the run folder's lock for the whole run and first tidies what a killed run left half done.
    """
    placement = setup(config.device)
    run_dir = Path(config.run_dir)
    try:
        with run_folder(run_dir, placement.is_main):
            barrier()
            start = start_point(run_dir, config.resume, config.resume_from)
            if config.deterministic:
                torch.use_deterministic_algorithms(True)
            data = data if data is not None else build_data(config.data, config.seed)
            task = _task(config, data, placement, _first_step(start))
            steps = config.steps + config.finetune.steps
            schedule = Schedule(steps, config.log_every, config.eval_every, config.checkpoint_every, config.keep_last)
            return run_task(task, schedule, run_dir, start, placement.is_main, progress)
    finally:
        teardown()


def _first_step(start: Path | None) -> int:
    """The step a run resumes at, so that its loaders continue the same draws."""
    return 0 if start is None else int(read_json(start, STATE_FILE)["step"])


def _task(config: SpatialConfig, data: SpatialData, placement: Placement, step: int) -> SpatialTask:
    """The networks, their loaders positioned at ``step``, and the task of ``config.mode``.

    A checkpoint saved inside the fine-tune phase (after step ``steps``) holds the fine-tune
    optimizer, so a run resumed there starts with it in place.
    """
    if config.finetune.steps and len(data.labeled) == 0:
        raise ConfigError("finetune.steps is set but the data holds no labeled images to fine-tune on")
    ssl = config.mode == Mode.ssl
    # The teacher first: each network draws its initial weights from its own seed, and the
    # global generator's state after the last build is where augmentation draws start.
    teacher = build_network(config, config.optim.teacher_lr, placement, config.seed, config.steps)[0] if ssl else None
    # The student's scheduler steps only when the student does: after the wait, its cosine
    # spans the steps left, so it ends annealed as the teacher and the baseline do.
    student, spec = build_network(config, config.optim.student_lr, placement, config.seed + 1, config.student_steps)
    # Rank 0 builds the decoded-image cache; the others open it once it is there.
    ordered = bool(config.data.decoded_cache) and placement.world > 1
    if ordered and not placement.is_main:
        barrier()
    second_weak = ssl and config.ssl.diagnose_every > 0
    labeled_views, unlabeled_views = training_views(data, config.data, spec, config.seed, ssl, second_weak)
    if ordered and placement.is_main:
        barrier()
    labeled = infinite_loader(
        labeled_views, balanced_stream(data.labeled, config.data, config.seed), config.batch_size,
        placement.rank, placement.world, step, config.data.workers,
    )
    autocast = autocast_for(config, placement)
    shared = {"config": config, "spec": spec, "data": data, "placement": placement, "labeled": labeled, "autocast": autocast}
    task: SpatialTask
    if teacher is None or unlabeled_views is None:
        task = SupervisedRun(SupervisedTask(student, autocast, config.label_smoothing), **shared)
    else:
        unlabeled = infinite_loader(
            unlabeled_views, UniformStream(len(data.unlabeled), config.seed + 1), config.batch_size * config.ssl.uratio,
            placement.rank, placement.world, step, config.data.workers,
        )
        task = TeacherStudentRun(TeacherStudentTask(teacher, student, config.ssl, autocast, config.label_smoothing), unlabeled, **shared)
    if step > config.steps:
        task.start_finetune()
    return task
