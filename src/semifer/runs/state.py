"""Everything a resumed run needs, saved in one checkpoint folder and restored from it.

A checkpoint holds, per network, its weights (``<name>.safetensors``) and optimizer tensors
(``optimizer-<name>.safetensors``: momentum and Adam buffers), the torch CPU and CUDA random
states (``rng.safetensors``), and in ``state.json`` the step, the best score, the optimizer
scalars and parameter groups, the scheduler states, Python's and NumPy's random states and
whatever the task adds. Nothing is pickled.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from semifer.checkpoint import load_checkpoint, save_checkpoint
from semifer.errors import CheckpointError
from semifer.runs.distributed import unwrap


class Network:
    """A network with its optimizer and learning-rate schedule: what a checkpoint saves per name.

    A network that is not trained by gradients (a moving average of another) has neither.
    """

    def __init__(self, model: nn.Module, optimizer: Optimizer | None = None, scheduler: LRScheduler | None = None) -> None:
        self.model = model
        self._optimizer = optimizer
        self._scheduler = scheduler

    @property
    def optimizer(self) -> Optimizer:
        if self._optimizer is None:
            raise TypeError("this network has no optimizer: it is not trained by gradients")
        return self._optimizer

    @property
    def scheduler(self) -> LRScheduler:
        if self._scheduler is None:
            raise TypeError("this network has no learning-rate schedule: it is not trained by gradients")
        return self._scheduler

    @property
    def trained(self) -> bool:
        """Whether it has an optimizer (and so optimizer state to checkpoint)."""
        return self._optimizer is not None

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()


def optimizer_tensors(optimizer: Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimizer's state as safetensors-ready tensors (``<param>.<slot>``) and JSON."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for param_id, entries in state["state"].items():
        for key, value in entries.items():
            (tensors if isinstance(value, torch.Tensor) else scalars)[f"{param_id}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def restore_optimizer(optimizer: Optimizer, tensors: dict[str, torch.Tensor], saved: dict[str, Any]) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in list(tensors.items()) + list(saved["scalars"].items()):
        param_id, key = name.split(".", 1)
        state.setdefault(int(param_id), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": saved["param_groups"]})


def save_run_checkpoint(
    folder: Path,
    networks: dict[str, Network],
    progress: dict[str, Any],
    files: dict[str, str] | None = None,
    tensors: dict[str, dict[str, torch.Tensor]] | None = None,
) -> Path:
    """Write ``networks``, the RNG states, ``progress`` (JSON) and extra ``files``/``tensors`` atomically."""
    groups: dict[str, dict[str, torch.Tensor]] = {"rng": {"torch": torch.get_rng_state()}, **(tensors or {})}
    if torch.cuda.is_available():
        groups["rng"]["cuda"] = torch.cuda.get_rng_state()
    optimizers, schedulers = {}, {}
    for name, network in networks.items():
        groups[name] = unwrap(network.model).state_dict()
        if network.trained:
            groups[f"optimizer-{name}"], optimizers[name] = optimizer_tensors(network.optimizer)
            schedulers[name] = network.scheduler.state_dict()
    state = {
        **progress,
        "optimizers": optimizers,
        "schedulers": schedulers,
        "rng": {"python": _jsonable(random.getstate()), "numpy": _jsonable(np.random.get_state())},
    }
    return save_checkpoint(folder, groups, state, files)


def load_run_checkpoint(folder: Path, networks: dict[str, Network]) -> dict[str, Any]:
    """Restore ``networks`` and every RNG from ``folder``; returns its ``state.json``.

    The CUDA generator saved is that of the saving process's device (one device per process);
    it is restored on this process's device, and skipped when resuming without CUDA.
    """
    groups = ["rng"] + [
        group for name, network in networks.items() for group in ((name, f"optimizer-{name}") if network.trained else (name,))
    ]
    tensors, state = load_checkpoint(folder, groups)
    try:
        for name, network in networks.items():
            unwrap(network.model).load_state_dict(tensors[name], strict=True)
            if network.trained:
                restore_optimizer(network.optimizer, tensors[f"optimizer-{name}"], state["optimizers"][name])
                network.scheduler.load_state_dict(state["schedulers"][name])
        torch.set_rng_state(tensors["rng"]["torch"])
        if "cuda" in tensors["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state(tensors["rng"]["cuda"])
        random.setstate(_python_rng(state["rng"]["python"]))
        numpy_state = state["rng"]["numpy"]
        np.random.set_state((numpy_state[0], np.asarray(numpy_state[1], dtype=np.uint32), *numpy_state[2:]))
    except (KeyError, RuntimeError, ValueError, TypeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"checkpoint {folder} does not fit this run: {first}") from None
    return state


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _python_rng(value: list[Any]) -> tuple[Any, ...]:
    return (value[0], tuple(value[1]), value[2])
