"""Learning-rate schedules, built from torch's schedulers (their state goes into checkpoints)."""

from __future__ import annotations

from torch.optim import Optimizer
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, LRScheduler, SequentialLR


def warmup_cosine(optimizer: Optimizer, steps: int, warmup_steps: int = 0, eta_min: float = 0.0) -> LRScheduler:
    """A linear warm-up over ``warmup_steps`` (from lr / warmup_steps), then cosine annealing to
    ``eta_min`` over the rest of ``steps``."""
    cosine = CosineAnnealingLR(optimizer, T_max=max(1, steps - warmup_steps), eta_min=eta_min)
    if warmup_steps <= 0:
        return cosine
    warmup = LinearLR(optimizer, start_factor=1 / warmup_steps, total_iters=warmup_steps)
    return SequentialLR(optimizer, [warmup, cosine], milestones=[warmup_steps])
