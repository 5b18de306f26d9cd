"""Typed run configs: OmegaConf structured dataclasses, loaded from YAML plus overrides.

A model's config is a dataclass that extends `RunConfig` with a `model` section. It is filled
from the model's `config.yaml`, then from overrides, each in OmegaConf's dotlist form
(`trainer.max_epochs=2`) or as `--trainer.max_epochs 2` (how SageMaker passes hyperparameters).
Unknown keys and values of the wrong type are errors, not surprises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import yaml
from omegaconf import MISSING, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .errors import ProjectError

T = TypeVar("T")


class ConfigError(ProjectError):
    """A config file or override that does not fit the model's config schema."""


@dataclass
class DataConfig:
    """Where the training data is and how it is split and batched."""

    path: str = MISSING  # the model's data: a file or a folder (every model's config.yaml sets it)
    target: str | None = None  # the column to predict, for tabular data
    features: list[str] | None = None  # None: every column but the target
    classes: list[str] | None = None  # None: the sorted distinct labels
    val_fraction: float = 0.2
    batch_size: int = 16


@dataclass
class OptimizerConfig:
    """Any optimizer in `torch.optim`, by class name."""

    name: str = "Adam"
    lr: float = 0.01
    weight_decay: float = 0.0


@dataclass
class TrainerConfig:
    """How long to train and how often to checkpoint."""

    max_epochs: int = 30
    seed: int = 0
    checkpoint_every: int = 5  # epochs; 0 disables checkpoints
    progress: bool = True  # show a progress bar


@dataclass
class DeployConfig:
    """How the model is served on SageMaker (parameters of infra/model.yaml)."""

    endpoint_type: str = "serverless"  # or "realtime"
    memory_size_mb: int = 2048  # serverless: 1024 to 6144, in 1024 steps
    max_concurrency: int = 5  # serverless: 1 to 200
    instance_type: str = "ml.m5.large"  # realtime
    instance_count: int = 1  # realtime

    def stack_parameters(self) -> dict[str, str]:
        return {
            "EndpointType": self.endpoint_type,
            "MemorySizeInMB": str(self.memory_size_mb),
            "MaxConcurrency": str(self.max_concurrency),
            "InstanceType": self.instance_type,
            "InstanceCount": str(self.instance_count),
        }


@dataclass
class RunConfig:
    """What every model's config has; a model adds its own `model` section."""

    data: DataConfig = field(default_factory=DataConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    deploy: DeployConfig = field(default_factory=DeployConfig)


def load(schema: type[T], path: Path, overrides: Sequence[str] = ()) -> T:
    """Build a `schema` instance from the YAML file at `path` and dotlist `overrides`."""
    base = OmegaConf.structured(schema)
    merged = _merge(base, _read_yaml(path), path)
    merged = _merge(merged, _parse_dotlist(overrides), "overrides")
    try:
        return OmegaConf.to_object(merged)
    except OmegaConfBaseException as error:
        raise ConfigError(f"{path}: {_describe(error)}") from error


def save(config: object, path: Path) -> None:
    """Write the fully resolved `config` as YAML (what a run was really trained with)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(OmegaConf.structured(config), path, resolve=True)


def to_yaml(config: object) -> str:
    """The config as YAML text, as `save` writes it."""
    return OmegaConf.to_yaml(OmegaConf.structured(config), resolve=True)


def to_dict(config: object) -> dict:
    """The config as plain nested dicts, for trackers and JSON."""
    return OmegaConf.to_container(OmegaConf.structured(config), resolve=True)


def flatten(tree: dict, prefix: str = "") -> dict[str, object]:
    """A nested mapping with dotted keys: {"optimizer": {"lr": 0.01}} -> {"optimizer.lr": 0.01}."""
    flat: dict[str, object] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        flat.update(flatten(value, f"{name}.") if isinstance(value, dict) else {name: value})
    return flat


def normalize_overrides(args: Sequence[str]) -> list[str]:
    """Turn `a.b=1`, `--a.b=1` and `--a.b 1` arguments into dotlist items `a.b=1`."""
    items: list[str] = []
    args = list(args)
    while args:
        arg = args.pop(0)
        if arg.startswith("--"):
            arg = arg[2:]
            if "=" not in arg:
                if not args:
                    raise ConfigError(f"override --{arg} has no value")
                arg = f"{arg}={args.pop(0)}"
        if "=" not in arg or arg.startswith("="):
            raise ConfigError(f"override '{arg}' is not of the form key=value")
        items.append(arg)
    return items


def _read_yaml(path: Path):
    try:
        content = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError as error:
        raise ConfigError(f"config file not found: {path}") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(content, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {type(content).__name__}")
    return OmegaConf.create(content)


def _parse_dotlist(overrides: Sequence[str]):
    try:
        return OmegaConf.from_dotlist(normalize_overrides(overrides))
    except OmegaConfBaseException as error:
        raise ConfigError(f"overrides: {_describe(error)}") from error


def _merge(base, update, source: object):
    try:
        return OmegaConf.merge(base, update)
    except OmegaConfBaseException as error:
        raise ConfigError(f"{source}: {_describe(error)}") from error


def _describe(error: OmegaConfBaseException) -> str:
    """OmegaConf's message without its multi-line context dump."""
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    key = getattr(error, "full_key", None)
    return f"{message} (key: {key})" if key and key not in message else message
