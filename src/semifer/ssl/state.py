"""Building the stage-1 networks, and saving/restoring everything a resumed run needs.

Optimizer state is split into tensors (safetensors: momentum buffers) and JSON (param
groups, scalars); schedulers and RNG states go to JSON, the torch RNG state to safetensors.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import OmegaConf
from torch.optim.lr_scheduler import CosineAnnealingLR

from semifer.checkpoint import load_checkpoint, save_checkpoint
from semifer.errors import CheckpointError
from semifer.models.backbone import MODEL_FILE, FrameModelSpec, create_backbone
from semifer.ssl.config import SpatialConfig
from semifer.ssl.distributed import Placement, unwrap, wrap
from semifer.ssl.task import Network

CONFIG_FILE = "config.yaml"


def build_network(config: SpatialConfig, lr: float, placement: Placement, seed: int) -> tuple[Network, FrameModelSpec]:
    """One backbone with SGD (momentum) and cosine annealing over ``config.steps``."""
    torch.manual_seed(seed)
    model = create_backbone(config.model.backbone, config.model.num_classes, config.model.pretrained)
    spec = FrameModelSpec.for_model(model, config.model.backbone, config.model.image_size, config.model.resize_size)
    model = model.to(placement.device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model = wrap(model, placement)
    optim = config.optim
    optimizer = torch.optim.SGD(
        model.parameters(), lr=lr, momentum=optim.momentum, weight_decay=optim.weight_decay,
        nesterov=optim.nesterov and optim.momentum > 0,
    )
    scheduler = CosineAnnealingLR(optimizer, T_max=max(1, config.steps), eta_min=optim.eta_min)
    return Network(model, optimizer, scheduler), spec


def _optimizer_tensors(network: Network) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    state = network.optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for param_id, entries in state["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{param_id}.{key}"] = value
            else:
                scalars[f"{param_id}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _restore_optimizer(network: Network, tensors: dict[str, torch.Tensor], saved: dict[str, Any]) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in list(tensors.items()) + list(saved["scalars"].items()):
        param_id, key = name.split(".", 1)
        state.setdefault(int(param_id), {})[key] = value
    network.optimizer.load_state_dict({"state": state, "param_groups": saved["param_groups"]})


def save_run_checkpoint(
    folder: Path, networks: dict[str, Network], spec: FrameModelSpec, config: SpatialConfig, progress: dict[str, Any]
) -> Path:
    """Write weights, optimizer/scheduler/RNG state, ``model.json`` and ``config.yaml`` atomically."""
    tensors: dict[str, dict[str, torch.Tensor]] = {"rng": {"torch": torch.get_rng_state()}}
    optimizers, schedulers = {}, {}
    for name, network in networks.items():
        tensors[name] = unwrap(network.model).state_dict()
        tensors[f"optimizer-{name}"], optimizers[name] = _optimizer_tensors(network)
        schedulers[name] = network.scheduler.state_dict()
    if torch.cuda.is_available():
        tensors["rng"]["cuda"] = torch.cuda.get_rng_state()
    state = {
        **progress,
        "optimizers": optimizers,
        "schedulers": schedulers,
        "rng": {"python": _jsonable(random.getstate()), "numpy": _jsonable(np.random.get_state())},
    }
    extra = {MODEL_FILE: _spec_json(spec), CONFIG_FILE: OmegaConf.to_yaml(OmegaConf.structured(config))}
    return save_checkpoint(folder, tensors, state, extra)


def load_run_checkpoint(folder: Path, networks: dict[str, Network]) -> dict[str, Any]:
    """Restore ``networks`` and the RNGs from ``folder``; returns its ``state.json``.

    The CUDA generator saved is that of the saving process's device (one device per process);
    it is restored on this process's device, and skipped when resuming without CUDA.
    """
    groups = ["rng"] + [g for name in networks for g in (name, f"optimizer-{name}")]
    tensors, state = load_checkpoint(folder, groups)
    try:
        for name, network in networks.items():
            unwrap(network.model).load_state_dict(tensors[name], strict=True)
            _restore_optimizer(network, tensors[f"optimizer-{name}"], state["optimizers"][name])
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


def _spec_json(spec: FrameModelSpec) -> str:
    return json.dumps(asdict(spec), indent=2)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _python_rng(value: list[Any]) -> tuple[Any, ...]:
    return (value[0], tuple(value[1]), value[2])
