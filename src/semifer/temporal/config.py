"""Typed config of a stage-2 run: recipe YAML, then ``key=value`` overrides (``semifer.config``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from semifer.models.temporal import EncoderConfig
from semifer.smoothing import Smoothing, smoothing_method


@dataclass
class TemporalConfig:
    """Stage-2 training: the temporal encoder over a feature cache.

    ``class_weighting`` (none | inverse | inverse_sqrt) weights the cross-entropy by the
    training frames' class frequencies; ``sampling`` (shuffle | balanced) draws clips with
    probability proportional to the mean inverse frequency of their annotated labels. Aff-Wild2
    is dominated by Neutral and Other, so one of the two is usually wanted.
    """

    features: str = "???"  # feature cache folder written by `semifer extract-features`
    run_dir: str = "runs/temporal"
    train_split: str = "train"
    validation_split: str = "validation"
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    clip_length: int = 64  # paper
    stride: int = 32  # between training clips
    inference_stride: int = 32  # between clips of whole-video inference
    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_steps: int = 100
    grad_clip: float = 1.0
    class_weighting: str = "inverse_sqrt"
    sampling: str = "shuffle"
    smoothing: Smoothing = Smoothing.window  # also reported on validation; checked when the config loads
    smoothing_window: int = 30  # paper
    num_workers: int = 0
    seed: int = 0
    device: str = "auto"
    resume: bool = True
    keep_last: int = 2
    log_every: int = 20

    def __post_init__(self) -> None:
        # OmegaConf checks the Enum when a recipe loads; this covers a config built in Python.
        self.smoothing = smoothing_method(self.smoothing)
