"""Where a run executes: the device, and under torchrun the process group, DDP and collectives.

One process per device; ``torchrun --nproc_per_node=N`` sets ``RANK``/``WORLD_SIZE``. gloo on
CPU, nccl on GPU. Only rank 0 logs and writes checkpoints. Both training stages, feature
extraction and inference pick their device through ``resolve_device``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from semifer.errors import ConfigError


TORCHRUN = "TORCHELASTIC_RUN_ID"  # set by torchrun in every process it starts


class Device(StrEnum):
    """The ``device`` choices of every config; ``auto`` is CUDA when present, else the CPU."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when present, else the CPU; ``cuda`` without a CUDA device is a ``ConfigError``.

    ``auto`` and ``cuda`` mean this process's GPU: ``LOCAL_RANK``'s under torchrun (one GPU per
    process), the first one otherwise. Any other torch device string (``cuda:1``, ``mps``) is
    passed to ``torch.device``.
    """
    if device in (Device.auto, Device.cuda):
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        if device == Device.cuda:
            raise ConfigError("device=cuda but this machine has no CUDA device; use device=auto or cpu")
        return torch.device("cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={device} but this machine has no CUDA device; use device=auto or cpu")
    return torch.device(device)


@dataclass(frozen=True)
class Placement:
    """Where this process runs: its rank among ``world`` processes and its device."""

    rank: int
    world: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device: str = "auto") -> Placement:
    """Join the process group when started by torchrun (even as its only process); pick the device.

    ``torchrun --nproc_per_node 1`` thus runs the collectives and the DDP wrapper with nccl on
    one GPU: the code paths of a many-GPU run, checkable on a single card.
    """
    where = resolve_device(device)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if (world > 1 or TORCHRUN in os.environ) and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if where.type == "cuda" else "gloo")
    rank = dist.get_rank() if dist.is_initialized() else 0
    if where.type == "cuda":
        torch.cuda.set_device(where)
    return Placement(rank, world, where)


def teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    """Wait for every rank (no-op when not distributed): rank 0 tidies the run folder first."""
    if dist.is_initialized():
        dist.barrier()


def all_reduce_sum(value: torch.Tensor) -> torch.Tensor:
    """Sum over ranks (identity when not distributed), so every rank sees the same number."""
    if not dist.is_initialized():
        return value
    value = value.detach().clone()
    dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value


def all_reduce_mean(value: torch.Tensor) -> torch.Tensor:
    """Mean over ranks (identity when not distributed)."""
    return all_reduce_sum(value) / dist.get_world_size() if dist.is_initialized() else value


def broadcast_buffers(model: nn.Module) -> None:
    """Give every rank rank 0's buffers (BatchNorm statistics), as DDP does at each forward.

    Ranks' own running statistics drift apart between those forwards; an evaluation sharded
    over ranks must use one model, the one rank 0 saves.
    """
    if not dist.is_initialized() or dist.get_world_size() == 1:
        return
    for buffer in model.buffers():
        dist.broadcast(buffer.data, src=0)


def wrap(model: nn.Module, placement: Placement) -> nn.Module:
    """DDP-wrap ``model`` in a process group (under torchrun), else return it unchanged."""
    if not dist.is_initialized():
        return model
    ids = [placement.device.index] if placement.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module under a DDP wrapper: forwards through it neither sync nor broadcast."""
    return model.module if isinstance(model, DistributedDataParallel) else model
