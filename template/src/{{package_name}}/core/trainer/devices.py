"""Where training runs and in which precision: the one place a device is chosen.

`choose` picks the device from the config (`auto`: CUDA, then Apple's MPS, then the CPU; under
torchrun each process takes the GPU of its local rank), `move` puts a batch of any nesting on
it, and `autocast`/`grad_scaler` give torch.amp's mixed precision for `bf16-mixed` and
`16-mixed`. Nothing else in the project calls `.cuda()` or names a device.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext

import torch

from ..basics.errors import ProjectError

DTYPES = {"32": None, "bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}  # by config_rules.PRECISIONS


class DeviceError(ProjectError):
    """A device or precision this machine or torch cannot train with."""


def choose(name: str = "auto") -> torch.device:
    """The device called `name`, or for `auto` the best one this machine has."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())
        return torch.device("mps") if torch.backends.mps.is_available() else torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise DeviceError(f"trainer.device: '{name}' is not a device (auto, cpu, cuda, cuda:1, mps)") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"trainer.device: '{name}' asked for, but torch sees no CUDA device here")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError(f"trainer.device: '{name}' asked for, but MPS is not available here")
    return device


def serving_device() -> torch.device:
    """Where an endpoint runs its model: its GPU if it has one, else the CPU."""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def move(batch, device: torch.device):
    """`batch` with every tensor in it on `device` (tensors, tuples, lists and dicts, nested)."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=device.type == "cuda")
    if isinstance(batch, Mapping):
        return type(batch)({key: move(value, device) for key, value in batch.items()})
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # a namedtuple
        return type(batch)(*(move(value, device) for value in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(move(value, device) for value in batch)
    return batch


def autocast(device: torch.device, precision: str) -> AbstractContextManager:
    """torch.autocast for a mixed precision; nothing for full precision."""
    dtype = DTYPES[precision]
    return nullcontext() if dtype is None else torch.autocast(device.type, dtype=dtype)


def grad_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler:
    """A gradient scaler, enabled only for float16 (bfloat16 has float32's range and needs none)."""
    return torch.amp.GradScaler(device.type, enabled=precision == "16-mixed")


def of(module: torch.nn.Module) -> torch.device:
    """The device `module`'s parameters are on (where its inputs must go)."""
    tensor = next(module.parameters(), None)
    return tensor.device if tensor is not None else torch.device("cpu")


def load_weights(network: torch.nn.Module, path) -> torch.nn.Module:
    """Load the weights saved at `path` into `network`, and move it to the serving device."""
    device = serving_device()
    network.load_state_dict(torch.load(path, map_location=device, weights_only=True))
    return network.to(device)
