"""The stage-1 run config: one dataclass per component, composed into ``SpatialConfig``.

Loaded with ``semifer.config.load_config(SpatialConfig, recipe, overrides)``; the resolved
config is saved as ``<run>/config.yaml`` and in every checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from semifer.config import checked_choice
from semifer.data.sources import Format
from semifer.errors import ConfigError
from semifer.labels import ABAW_CLASSES
from semifer.runs.distributed import Device


# Choices are Enums, so a typo stops the config when it loads (OmegaConf checks Enum fields);
# members compare equal to their names.
class Use(StrEnum):
    labeled = "labeled"
    split = "split"
    unlabeled = "unlabeled"


class Mode(StrEnum):
    ssl = "ssl"
    supervised = "supervised"


class Feedback(StrEnum):
    exact = "exact"
    taylor = "taylor"
    none = "none"


class FeedbackView(StrEnum):
    weak = "weak"  # CE(y_hat, T(alpha x)) (eq. 5)
    strong = "strong"  # public MPL code's CE(argmax T(A x), T(A x))


class PseudoLabel(StrEnum):
    hard = "hard"
    soft = "soft"  # makes the feedback gradient vanish


@dataclass
class SourceEntry:
    """One on-disk source and how stage 1 uses it.

    ``use``: ``labeled`` (its labeled items are labeled data, its -1 items unlabeled data),
    ``split`` (the paper's mixing: ``data.per_class`` labeled images per class drawn from all
    ``split`` sources merged into one pool, the rest unlabeled), or ``unlabeled`` (all of it unlabeled). ``fraction`` < 1 keeps a uniform
    seeded subset (the paper keeps one third of MS1MV2).
    """

    format: Format = Format.imagefolder
    path: str = ""
    split: str = "train"
    use: Use = Use.labeled
    fraction: float = 1.0

    def __post_init__(self) -> None:
        self.format = checked_choice(Format, self.format, "format")
        self.use = checked_choice(Use, self.use, "use")


@dataclass
class DataConfig:
    """Where the images come from; relative paths are taken under ``root`` when it is set."""

    root: str = ""
    sources: list[SourceEntry] = field(default_factory=list)
    per_class: int = 8000
    classes: list[str] = field(default_factory=lambda: list(ABAW_CLASSES))  # balanced over these
    manifest: str = ""  # synthetic data: true classes, for pseudo-label accuracy
    validation_root: str = ""  # Aff-Wild2 root holding the validation annotations
    validation_max_frames: int = 0  # 0 = all; otherwise an evenly spaced subset
    balanced_per_class: int = 0  # draws per class per sampler epoch; 0 = largest class
    balance_sources: bool = False  # split each class's draws equally between the labeled sources that hold it
    workers: int = 2
    decoded_cache: str = ""  # a folder (under root if relative): decode every face once, augment in batches
    randaugment_ops: int = 2
    randaugment_magnitude: int = 10


@dataclass
class ModelConfig:
    backbone: str = "resnet50"
    pretrained: bool = False
    num_classes: int = 8
    image_size: int = 224
    resize_size: int = 256
    channels: list[int] = field(default_factory=list)  # ResNet stage widths; empty = the architecture's


@dataclass
class OptimConfig:
    teacher_lr: float = 1e-2
    student_lr: float = 1e-3
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    decay_norm_and_bias: bool = True  # false: norm weights and biases get no weight decay (the references')
    warmup_steps: int = 0  # linear warm-up of every network, the student's from its first step
    eta_min: float = 0.0


@dataclass
class FinetuneConfig:
    """MPL's last phase: after ``steps``, the student alone on the labeled data, with a fresh
    SGD at ``lr`` annealed over ``steps``; the supervised baseline gets the same phase."""

    steps: int = 0
    lr: float = 1e-3


@dataclass
class SSLConfig:
    """The teacher-student method (DESIGN.md section 2); USB's names where they exist."""

    feedback: Feedback = Feedback.exact
    feedback_view: FeedbackView = FeedbackView.weak
    pseudo_label: PseudoLabel = PseudoLabel.hard
    lambda_c: float = 1.0  # weight of the consistency loss L_c
    lambda_c_warmup: int = 0  # steps of linear warm-up of lambda_c
    temperature: float = 1.0  # tau of L_c's soft targets
    p_cutoff: float = 0.0  # confidence mask of L_c; 0 keeps every unlabeled image
    baseline_decay: float = 0.0  # > 0: subtract a moving average of f (e.g. 0.99)
    student_wait_steps: int = 0  # teacher-only steps before the student starts
    uratio: int = 1  # unlabeled images per labeled image in a batch
    unlabeled_label_smoothing: float = 0.0  # of L_u (the references': 0.15)
    teacher_ema: float = 0.0  # > 0: pseudo-labels from a moving average of the teacher with this decay
    student_forward_labeled: bool = False  # the student's forward on cat(x_lb, A(x_u)): BatchNorm sees both
    diagnose_every: int = 5  # steps between measures of the loop (agreements, f on right/wrong labels); 0: off

    def __post_init__(self) -> None:
        self.feedback = checked_choice(Feedback, self.feedback, "ssl.feedback")
        self.feedback_view = checked_choice(FeedbackView, self.feedback_view, "ssl.feedback_view")
        self.pseudo_label = checked_choice(PseudoLabel, self.pseudo_label, "ssl.pseudo_label")
        if self.uratio < 1:
            raise ConfigError(f"ssl.uratio must be at least 1, not {self.uratio}")
        if not 0 <= self.unlabeled_label_smoothing < 1:
            raise ConfigError(f"ssl.unlabeled_label_smoothing must be in [0, 1), not {self.unlabeled_label_smoothing}")
        if not 0 <= self.teacher_ema < 1:
            raise ConfigError(f"ssl.teacher_ema must be in [0, 1) (0: off), not {self.teacher_ema}")
        if self.diagnose_every < 0:
            raise ConfigError(f"ssl.diagnose_every must be 0 (off) or positive, not {self.diagnose_every}")


@dataclass
class SpatialConfig:
    mode: Mode = Mode.ssl
    run_dir: str = "runs/spatial"
    resume: bool = False
    resume_from: str = ""  # a checkpoint folder to start from instead of run_dir's latest
    seed: int = 0
    steps: int = 100_000
    batch_size: int = 32  # labeled images per process per step
    log_every: int = 50
    eval_every: int = 2000
    checkpoint_every: int = 2000
    keep_last: int = 3
    label_smoothing: float = 0.0  # of the labeled CE: the teacher's L_s and the supervised baseline's loss
    bf16: bool = False
    channels_last: bool = False
    device: Device = Device.auto
    deterministic: bool = False
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    ssl: SSLConfig = field(default_factory=SSLConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)

    def __post_init__(self) -> None:
        self.mode = checked_choice(Mode, self.mode, "mode")
        self.device = checked_choice(Device, self.device, "device")
        for key, value in (("steps", self.steps), ("batch_size", self.batch_size)):
            if value < 1:
                raise ConfigError(f"{key} must be positive, not {value}")
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(f"label_smoothing must be in [0, 1), not {self.label_smoothing}")
        if self.finetune.steps < 0 or self.finetune.lr <= 0:
            raise ConfigError(f"finetune.steps must be 0 or more and finetune.lr positive, not {self.finetune.steps} and {self.finetune.lr}")
        if self.mode == Mode.ssl and not 0 <= self.ssl.student_wait_steps < self.steps:
            raise ConfigError(f"ssl.student_wait_steps ({self.ssl.student_wait_steps}) must be 0 or more and less than steps ({self.steps})")
        shortest = self.student_steps if self.mode == Mode.ssl else self.steps
        if not 0 <= self.optim.warmup_steps < shortest:
            raise ConfigError(
                f"optim.warmup_steps ({self.optim.warmup_steps}) must be 0 or more and shorter than the "
                f"{shortest} steps the {'student trains after ssl.student_wait_steps' if shortest < self.steps else 'run has'}"
            )

    @property
    def student_steps(self) -> int:
        """Steps the student trains in its SSL phase: after the wait, before any fine-tune."""
        return self.steps - self.ssl.student_wait_steps if self.mode == Mode.ssl else self.steps
