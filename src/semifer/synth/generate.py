"""Build the whole synthetic mini-ABAW: plan chunks, render them in a pool, write each format.

Every chunk carries its own seed (``SeedSequence((seed, source, chunk))``) and results are
written in plan order, so the files are byte-identical for a seed whatever the worker count.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from semifer.data.affectnet import AffectNetWriter
from semifer.data.affwild2 import AffWild2Writer
from semifer.data.expw import ExpWWriter
from semifer.data.recordio import RecordIOWriter
from semifer.errors import ConfigError, SemiferError
from semifer.labels import ABAW_CLASSES
from semifer.synth.contact_sheet import write_contact_sheet
from semifer.synth.manifest import Manifest
from semifer.synth.raw_video import RAW_FOLDER, RawVideoResult, write_raw_video
from semifer.synth.stills import make_affectnet, make_expw, make_ms1mv2
from semifer.synth.videos import VideoResult, make_video, plan_videos

logger = logging.getLogger(__name__)

# Rare classes each split must contain at least once (a validation split without Fear would
# make its macro F1 meaningless); listed twice so each appears in two videos where possible.
_FORCED = tuple(ABAW_CLASSES.index(name) for name in ("Fear", "Disgust", "Anger", "Surprise")) * 2
_CHUNK = 250  # still images per chunk: small enough to balance two workers


@dataclass(frozen=True)
class Scale:
    """How much of each source to generate."""

    train_videos: int
    validation_videos: int
    frames: tuple[int, int]  # video length range
    affectnet: int  # images
    expw: int  # scene images (1-3 faces each, 1.4 on average)
    ms1mv2_identities: int
    ms1mv2_per_identity: tuple[int, int]
    raw_frames: int  # frames of the held-out raw camera video
    validation_frames: tuple[int, int] | None = None  # validation video length range; None = frames


SCALES: dict[str, Scale] = {
    "tiny": Scale(3, 2, (30, 50), 60, 30, 6, (4, 8), 40),
    # Training videos are many and short: with few people, a network learns who is in a video
    # rather than the expression (supervised demo recipe, 800 steps: validation macro F1 0.10
    # with 72 people, 0.16 with 200; docs/stage1.md).
    "small": Scale(40, 4, (30, 60), 900, 320, 80, (8, 12), 250, (150, 250)),  # `semifer demo --quick`
    "demo": Scale(200, 24, (30, 60), 3000, 1080, 400, (12, 22), 1200, (80, 160)),
    "large": Scale(60, 20, (300, 900), 12000, 4300, 1600, (14, 26), 900),
}


# Thread pools a rendering worker must not start: with one process per core, each library's own
# pool (OpenMP, OpenBLAS, MKL, OpenCV) sized to the core count oversubscribes the machine
# quadratically (8 workers x 16 threads on a 16-core machine).
_ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENCV_FOR_THREADS_NUM")}


def _run(function: Callable[..., Any], jobs: list[tuple[Any, ...]], workers: int) -> Iterator[Any]:
    """``function(*job)`` for every job, in job order, in a process pool when ``workers > 1``.

    A worker that dies (out of memory, a crash in a native library) raises ``BrokenProcessPool``
    here instead of leaving the pool waiting for its result forever.
    """
    if workers <= 1 or len(jobs) <= 1:
        yield from (function(*job) for job in jobs)
        return
    # spawn, not fork: a forked child inherits OpenCV's thread pool in whatever state the parent
    # left it, and then can deadlock on its first parallel call. Spawned children read the
    # thread limits from the environment they start with (they start on demand, so it stays set).
    saved = {name: os.environ.get(name) for name in _ONE_THREAD}
    os.environ.update(_ONE_THREAD)
    try:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=cv2.setNumThreads, initargs=(1,)) as pool:
            yield from pool.map(_Call(function), jobs)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _apply(function: Callable[..., Any], *args: Any) -> Any:
    return function(*args)


@dataclass(frozen=True)
class _Call:
    function: Callable[..., Any]

    def __call__(self, job: tuple[Any, ...]) -> Any:
        return self.function(*job)


def _chunks(total: int) -> Iterable[tuple[int, int, int]]:
    for chunk, first in enumerate(range(0, total, _CHUNK)):
        yield chunk, first, min(_CHUNK, total - first)


def _write_videos(out: Path, scale: Scale, seed: int, manifest: Manifest, workers: int) -> None:
    rng = np.random.default_rng(np.random.SeedSequence((seed, 0)))
    specs = plan_videos("train", scale.train_videos, scale.frames, rng, seed, 0, _FORCED)
    specs += plan_videos(
        "validation", scale.validation_videos, scale.validation_frames or scale.frames, rng, seed, len(specs), _FORCED
    )
    writer = AffWild2Writer(out / "aff-wild2")
    section = manifest.section("affwild2")
    # The raw video is the longest job: it goes first so that the pool renders it alongside.
    jobs = [(write_raw_video, out / RAW_FOLDER, seed, scale.raw_frames)]
    jobs += [(make_video, spec) for spec in specs]
    results = _run(_apply, jobs, workers)
    _record_raw_video(out, next(results), manifest)
    result: VideoResult
    for result in results:
        spec = result.spec
        writer.write_video(
            spec.split, spec.name, result.labels.tolist(), result.frames, spec.extra_annotation_line
        )
        for index, frame in enumerate(result.frames):
            section.add(
                f"{spec.name}/{index + 1:05d}.jpg",
                result.classes[index],
                result.labels[index],
                result.aus[index],
                spec.identity,
                frame is not None,
            )


def _record_raw_video(out: Path, raw: RawVideoResult, manifest: Manifest) -> None:
    """Truth of every raw-video frame, keyed as ``semifer predict`` names them (``<video>.mp4#i``)."""
    manifest.raw_videos.append(f"{RAW_FOLDER}/{raw.name}.mp4")
    section = manifest.section("raw_video")
    for index, has_face in enumerate(raw.has_face):
        section.add(
            f"{raw.name}.mp4#{index}",
            raw.classes[index],
            raw.labels[index],
            raw.aus[index],
            0,
            bool(has_face),
        )


def _write_affectnet(out: Path, scale: Scale, seed: int, manifest: Manifest, workers: int) -> None:
    section = manifest.section("affectnet")
    jobs = [(chunk, first, count, seed, 0.12) for chunk, first, count in _chunks(scale.affectnet)]
    with AffectNetWriter(out / "affectnet") as writer:
        for images in _run(make_affectnet, jobs, workers):
            for image in images:
                writer.add(
                    image.split,
                    image.item.key,
                    image.image,
                    image.box,
                    image.code,
                    image.valence,
                    image.arousal,
                )
                item = image.item
                section.add(item.key, item.true_class, item.label, item.aus, item.identity)


def _write_expw(out: Path, scale: Scale, seed: int, manifest: Manifest, workers: int) -> None:
    section = manifest.section("expw")
    jobs = [(chunk, first, count, seed) for chunk, first, count in _chunks(scale.expw)]
    with ExpWWriter(out / "expw") as writer:
        for images in _run(make_expw, jobs, workers):
            for image in images:
                writer.add_image(image.name, image.image, image.faces)
                for item in image.items:
                    section.add(item.key, item.true_class, item.label, item.aus, item.identity)


def _write_ms1mv2(out: Path, scale: Scale, seed: int, manifest: Manifest, workers: int) -> None:
    section = manifest.section("ms1mv2")
    per_chunk = max(1, 2 * _CHUNK // sum(scale.ms1mv2_per_identity))
    identities = list(range(scale.ms1mv2_identities))
    jobs = [
        (chunk, identities[first : first + per_chunk], scale.ms1mv2_per_identity, seed)
        for chunk, first in enumerate(range(0, len(identities), per_chunk))
    ]
    with RecordIOWriter(out / "ms1mv2") as writer:
        for records in _run(make_ms1mv2, jobs, workers):
            for record in records:
                item = record.item
                key = str(writer.add(record.image, item.identity))
                section.add(key, item.true_class, item.label, item.aus, item.identity)


def generate(out: Path, scale: str = "demo", seed: int = 0, workers: int | None = None) -> Manifest:
    """Write the synthetic mini-ABAW under ``out`` (layout in docs/architecture.md).

    Args:
        out: output folder; must be empty or absent (files are never mixed with an old run).
        scale: a name from ``SCALES``.
        seed: everything is a function of it (same seed -> byte-identical files).
        workers: processes for rendering; defaults to the CPU count (at most 8).
    """
    if scale not in SCALES:
        raise ConfigError(f"unknown scale {scale!r}; use one of {', '.join(SCALES)}")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise SemiferError(f"{out}: output folder is not empty")
    out.mkdir(parents=True, exist_ok=True)
    workers = workers or min(8, os.cpu_count() or 1)
    manifest = Manifest(seed=seed, scale=scale)
    # One OpenCV thread per process, as in the workers: the pool already uses every core.
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        for step in (_write_videos, _write_affectnet, _write_expw, _write_ms1mv2):
            logger.info("synth: %s", step.__name__.removeprefix("_write_"))
            step(out, SCALES[scale], seed, manifest, workers)
        write_contact_sheet(out / "contact_sheet.png", seed)
    finally:
        cv2.setNumThreads(threads)
    manifest.write(out / "manifest.json")
    return manifest
