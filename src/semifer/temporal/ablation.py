"""The paper's Table 1 on the validation split: what each stage adds to macro F1.

Rows: the supervised stage-1 baseline per frame, optionally one more stage-1 checkpoint per
frame (the demo's SSL run with the feedback term off), the SSL stage-1 student per frame, SSL +
temporal encoder, SSL + temporal + window smoothing. A stage-1 checkpoint is scored per frame
by its own classifier head on its cached features (the cache stores those logits), so every
row sees the same frames, with missing faces filled from their neighbours in the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from semifer.checkpoint import atomic_write_text
from semifer.metrics import F1Report
from semifer.report import markdown_table
from semifer.temporal.evaluate import cache_targets, evaluate_labels, predict_cache


SUPERVISED_ROW = "supervised (per frame)"
SSL_ROW = "SSL (per frame)"
TEMPORAL_ROW = "SSL + temporal"


def vote_row(smoothing: str, window: int) -> str:
    return f"{TEMPORAL_ROW} + {smoothing} vote ({window})"


@dataclass
class AblationRow:
    name: str
    report: F1Report


@dataclass
class Ablation:
    """The ablation rows, in table order, and the smoothing used for the last one."""

    rows: list[AblationRow] = field(default_factory=list)
    smoothing: str = "window"
    window: int = 30

    def as_dict(self) -> dict[str, object]:
        return {row.name: row.report.as_dict() for row in self.rows}

    def markdown(self, title: str = "Ablation (validation macro F1)") -> str:
        return markdown_table([(row.name, row.report.macro_f1, row.report.frames) for row in self.rows], title)


def _score(checkpoint: Path, features: Path, split: str, smoothing: str, window: int) -> tuple[F1Report, F1Report]:
    cache, probabilities = predict_cache(checkpoint, features, split)
    predictions = {name: values.argmax(axis=1) for name, values in probabilities.items()}
    result = evaluate_labels(predictions, cache_targets(cache), smoothing, window, source=str(cache.folder / split))
    return result.raw, result.smoothed


def ablation_from_caches(
    supervised: Path | None,
    supervised_features: Path | None,
    ssl: Path,
    ssl_features: Path,
    temporal: Path | None,
    split: str = "validation",
    smoothing: str = "window",
    window: int = 30,
    extra_per_frame: tuple[str, Path, Path] | None = None,
) -> Ablation:
    """Score each available stage on caches that already exist (``None`` skips a row).

    ``extra_per_frame`` (row name, stage-1 checkpoint, its feature cache) adds one more
    per-frame row just before the SSL row.
    """
    ablation = Ablation(smoothing=smoothing, window=window)
    if supervised is not None and supervised_features is not None:
        ablation.rows.append(AblationRow(SUPERVISED_ROW, _score(supervised, supervised_features, split, smoothing, window)[0]))
    if extra_per_frame is not None:
        name, checkpoint, features = extra_per_frame
        ablation.rows.append(AblationRow(name, _score(checkpoint, features, split, smoothing, window)[0]))
    ablation.rows.append(AblationRow(SSL_ROW, _score(ssl, ssl_features, split, smoothing, window)[0]))
    if temporal is not None:
        raw, smoothed = _score(temporal, ssl_features, split, smoothing, window)
        ablation.rows.append(AblationRow(TEMPORAL_ROW, raw))
        ablation.rows.append(AblationRow(vote_row(smoothing, window), smoothed))
    return ablation


def run_ablation(
    supervised: Path | None,
    ssl: Path,
    temporal: Path | None,
    data: Path,
    cache_root: Path,
    out: Path,
    split: str = "validation",
    smoothing: str = "window",
    window: int = 30,
    batch_size: int = 64,
    num_workers: int = 2,
) -> Ablation:
    """Extract (or reuse) the caches of both stage-1 checkpoints, score every row, write ``out`` (Markdown).

    The temporal checkpoint must have been trained on the SSL student's features: its recorded
    stage-1 digest is checked against the SSL cache.
    """
    from semifer.temporal.extraction import extract_features

    ssl_features = extract_features(ssl, data, Path(cache_root) / "ssl", [split], batch_size, num_workers)
    supervised_features = (
        extract_features(supervised, data, Path(cache_root) / "supervised", [split], batch_size, num_workers)
        if supervised is not None
        else None
    )
    ablation = ablation_from_caches(supervised, supervised_features, ssl, ssl_features, temporal, split, smoothing, window)
    atomic_write_text(Path(out), ablation.markdown())
    return ablation
