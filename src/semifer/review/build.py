"""What a review shows, by input: a demo output folder, a stage-2 run, or one predictions table.

``build_review`` is the demo's entry point: it reads the paths each demo stage recorded in
``OUT/stages/<stage>.json`` (the checkpoint the ablation scored, its feature cache, the
``predict`` table with its video and annotation), so the review shows the very predictions
that the demo's ablation table and report describe.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from semifer.errors import ConfigError, DataFormatError, InputError
from semifer.review.predictions import predicted_video
from semifer.review.site import safe_name, write_site
from semifer.review.summary import MatrixGroup, ablation_rows, group_report
from semifer.review.validation import validation_videos
from semifer.review.video import ReviewVideo
from semifer.temporal.ablation import TEMPORAL_ROW, vote_row

logger = logging.getLogger(__name__)

DEMO_SMOOTHING, DEMO_WINDOW = "window", 30  # the demo's ablation row "SSL + temporal + window vote (30)"


def _predict_group(video: ReviewVideo, index: int) -> MatrixGroup:
    title = f"predict {video.name}"
    return MatrixGroup(title, [index], {"raw": f"{title}, raw", "smoothed": f"{title}, labels"})


def review_predictions(predictions: Path, out: Path, labels: Path | None = None, video: Path | None = None) -> Path:
    """Review one ``semifer predict`` table (truth from the EXPR file ``labels``, if given)."""
    predictions = Path(predictions)
    reviewed = predicted_video(predictions, Path(out) / "frames" / safe_name(predictions.stem), labels, video)
    source = f"predictions {predictions}" + (f", true labels {labels}" if labels is not None else "")
    return write_site(out, f"semifer review: {reviewed.name}", source, [reviewed], [_predict_group(reviewed, 0)])


def review_run(
    checkpoint: Path, features: Path, images: Path, out: Path, split: str = "validation", smoothing: str = "window", window: int = 30
) -> Path:
    """Review the cached videos of ``split`` under a stage-2 checkpoint (crops from ``images``)."""
    videos = validation_videos(checkpoint, features, images, split, smoothing, window)
    group = MatrixGroup(split, list(range(len(videos))), {"raw": "temporal", "smoothed": f"temporal + {videos[0].smoothing}"})
    source = f"checkpoint {checkpoint}, features {features}, split {split}"
    return write_site(out, f"semifer review: {split}", source, videos, [group])


def _stage(demo_output: Path, stage: str) -> dict[str, Any]:
    """The result a demo stage recorded in ``stages/<stage>.json``."""
    path = demo_output / "stages" / f"{stage}.json"
    if not path.is_file():
        raise InputError(f"{path}: not found; the demo's {stage} stage has not finished in {demo_output}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataFormatError(f"{path}: not a stage result ({error})") from None


def _finished(demo_output: Path, stage: str) -> dict[str, Any] | None:
    return _stage(demo_output, stage) if (demo_output / "stages" / f"{stage}.json").is_file() else None


def _inside(demo_output: Path, recorded_out: Path, recorded: str) -> Path:
    """A path the demo recorded (from the folder it ran in, as ``recorded_out/...``) inside ``demo_output``."""
    try:
        return demo_output / Path(recorded).relative_to(recorded_out)
    except ValueError:
        return Path(recorded)


def _check_ablation(ablation: dict[str, Any], videos: list[ReviewVideo], demo_output: Path) -> None:
    """Warn when the review's predictions are not the ones the ablation scored (a stage was re-run)."""
    recorded = ablation["rows"].get(TEMPORAL_ROW, {}).get("confusion_matrix")
    if recorded is not None and not np.array_equal(np.asarray(recorded), group_report(videos, "raw").matrix):
        logger.warning("%s: the %r confusion matrix differs from the review's; was stage 2 re-run since?", demo_output / "stages" / "ablation.json", TEMPORAL_ROW)


def build_review(demo_output: Path, out: Path) -> Path:
    """Review a ``semifer demo`` output folder: its validation videos under the stage-2 model, its
    ablation table, and the raw video it ran ``predict`` on. Returns the overview page."""
    demo_output = Path(demo_output)
    temporal = _stage(demo_output, "temporal")
    recorded_out = Path(temporal["run_dir"]).parent.parent  # the demo's OUT as it was given: <OUT>/runs/temporal
    videos = validation_videos(
        _inside(demo_output, recorded_out, temporal["checkpoint"]),
        _inside(demo_output, recorded_out, _stage(demo_output, "features")["ssl"]),
        demo_output / "data" / "aff-wild2" / "cropped_aligned",
        smoothing=DEMO_SMOOTHING,
        window=DEMO_WINDOW,
    )
    groups = [MatrixGroup("validation", list(range(len(videos))), {"raw": TEMPORAL_ROW, "smoothed": vote_row(DEMO_SMOOTHING, DEMO_WINDOW)})]
    reference: list[dict[str, object]] = []
    ablation = _finished(demo_output, "ablation")
    if ablation is not None:
        _check_ablation(ablation, videos, demo_output)
        reference = ablation_rows(ablation)
    predict = _finished(demo_output, "predict")
    if predict is not None:
        predictions = _inside(demo_output, recorded_out, predict["predictions"])
        truth = _inside(demo_output, recorded_out, predict["truth"]) if predict.get("truth") else None
        frames = Path(out) / "frames" / safe_name(predictions.stem)
        videos.append(predicted_video(predictions, frames, truth, _inside(demo_output, recorded_out, predict["video"])))
        groups.append(_predict_group(videos[-1], len(videos) - 1))
    return write_site(out, "semifer demo review", f"demo output {demo_output.resolve()}", videos, groups, reference)


def review(
    source: Path,
    out: Path,
    *,
    labels: Path | None = None,
    video: Path | None = None,
    features: Path | None = None,
    images: Path | None = None,
    split: str = "validation",
    smoothing: str = "window",
    window: int = 30,
) -> Path:
    """Review ``source``: a predictions table (.csv/.parquet), a demo output folder, or a run's checkpoint."""
    source = Path(source)
    table_options = labels is not None or video is not None
    run_options = features is not None or images is not None
    if not source.exists():
        raise InputError(f"{source}: no such predictions table, demo output folder or run")
    if source.is_file():
        if run_options:
            raise ConfigError(f"{source} is a predictions table: --features and --images are for a stage-2 run")
        return review_predictions(source, out, labels, video)
    if table_options:
        raise ConfigError(f"{source} is not a predictions table: --labels and --video are for a `semifer predict` table")
    if (source / "stages").is_dir():
        return build_review(source, out)
    if features is None or images is None:
        raise ConfigError(
            f"{source} is neither a predictions table (.csv, .parquet) nor a demo output folder (stages/); "
            "to review a run's checkpoint, give its feature cache (--features) and face crops (--images)"
        )
    return review_run(source, features, images, out, split, smoothing, window)  # a run folder resolves to its best/
