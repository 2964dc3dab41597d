"""Typed config of a stage-2 run: recipe YAML, then ``key=value`` overrides (``semifer.config``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from semifer.config import checked_choice
from semifer.models.temporal import EncoderConfig
from semifer.runs.distributed import Device
from semifer.smoothing import Smoothing, smoothing_method


class ClassWeighting(StrEnum):
    none = "none"
    inverse = "inverse"
    inverse_sqrt = "inverse_sqrt"


class Sampling(StrEnum):
    shuffle = "shuffle"
    balanced = "balanced"


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
    class_weighting: ClassWeighting = ClassWeighting.inverse_sqrt
    sampling: Sampling = Sampling.shuffle
    smoothing: Smoothing = Smoothing.window  # also reported on validation; checked when the config loads
    smoothing_window: int = 30  # paper
    num_workers: int = 0
    seed: int = 0
    device: Device = Device.auto
    resume: bool = False  # as in stage 1: a folder holding checkpoints is refused unless resume=true
    keep_last: int = 2
    log_every: int = 20

    def __post_init__(self) -> None:
        # OmegaConf checks the Enums when a recipe loads; this covers a config built in Python.
        self.smoothing = smoothing_method(self.smoothing)
        self.class_weighting = checked_choice(ClassWeighting, self.class_weighting, "class_weighting")
        self.sampling = checked_choice(Sampling, self.sampling, "sampling")
        self.device = checked_choice(Device, self.device, "device")
