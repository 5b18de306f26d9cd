"""A run's typed config: the sections every model's config has, loaded from YAML plus overrides and checked.

A model's config is a dataclass that extends `RunConfig` with a `model` section. It is filled
from the model's `config.yaml`, then from overrides (config_parsing.py reads both). Unknown keys
and values of the wrong type are errors, not surprises; so are values no run can use
(config_rules.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from omegaconf import MISSING, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from . import config_parsing, config_rules, moved
from .errors import ConfigError

T = TypeVar("T")

CHANNELS = {"train": "path", "validation": "validation", "test": "test"}  # a job's input channels -> DataConfig keys


@dataclass
class DataConfig:
    """Where the training data is, and how it is split, read and batched.

    `path`, `validation` and `test` are a job's `train`, `validation` and `test` channels: a
    file, a folder (of shards, of class folders...) or an `s3://` URI a SageMaker job reads in
    place.
    """

    path: str = MISSING  # the training data (every model's config.yaml sets it)
    validation: str | None = None  # held-out data; None: `val_fraction` of `path` is split off
    test: str | None = None  # data for a final evaluation, never trained on
    target: str | None = None  # the column to predict, for tabular data
    features: list[str] | None = None  # None: every column but the target
    classes: list[str] | None = None  # None: the sorted distinct labels
    val_fraction: float = 0.2
    batch_size: int = 16
    streaming: bool = False  # read shards as a stream (data larger than memory) instead of loading them
    num_workers: int = 0  # DataLoader worker processes; 0 loads in the training process
    pin_memory: bool = False  # page-locked batches: faster copies to a CUDA device
    prefetch_factor: int | None = None  # batches each worker loads ahead; None: torch's default


def channel_sources(data: DataConfig) -> dict[str, str]:
    """The data sources a config sets, by job channel: `path` is `train`; unset channels are left out."""
    found = {name: getattr(data, key) for name, key in CHANNELS.items()}
    return {name: str(source) for name, source in found.items() if source}


@dataclass
class OptimizerConfig:
    """Any optimizer in `torch.optim`, by class name."""

    name: str = "Adam"
    lr: float = 0.01
    weight_decay: float = 0.0


@dataclass
class SchedulerConfig:
    """Any learning-rate scheduler in `torch.optim.lr_scheduler`, by class name, with its arguments."""

    name: str | None = None  # e.g. CosineAnnealingLR, StepLR, OneCycleLR; None: a constant rate
    args: dict[str, Any] = field(default_factory=dict)  # e.g. {T_max: 30}; ReduceLROnPlateau watches the goal
    interval: str = "epoch"  # step it after every "epoch" or after every optimizer "step"


@dataclass
class TrainerConfig:
    """Where and how long to train: device, precision, gradient handling, stopping, checkpoints."""

    max_epochs: int = 30
    seed: int = 0
    device: str = "auto"  # auto: CUDA, then MPS, then CPU; or cpu, cuda, cuda:1, mps
    precision: str = "32"  # 32, bf16-mixed or 16-mixed (autocast; 16-mixed adds a gradient scaler)
    accumulate_grad_batches: int = 1  # batches whose gradients add up to one optimizer step
    gradient_clip_norm: float | None = None  # clip the gradients' total norm to this; None: no clipping
    early_stopping_patience: int | None = None  # stop after this many epochs without a better goal metric
    early_stopping_min_delta: float = 0.0  # how much better counts as better
    checkpoint_every: int = 5  # epochs between resumable checkpoints; 0 disables them
    progress: bool = True  # show a progress bar


@dataclass
class DeployConfig:
    """How the model is served on SageMaker (as infra/model.yaml's parameters: cloud/serving_parameters.py)."""

    TYPES = ("serverless", "realtime", "async")  # not fields (no annotation): the allowed endpoint types
    ON_INSTANCES = ("realtime", "async")

    endpoint_type: str = "serverless"  # serverless, realtime or async (instances; requests and answers in S3)
    memory_size_mb: int = 2048  # serverless: 1024 to 6144, in 1024 steps
    max_concurrency: int = 5  # serverless: 1 to 200
    instance_type: str = "ml.m5.large"  # realtime, async
    instance_count: int = 1  # realtime, async; realtime: also the fewest instances autoscaling keeps
    max_instances: int | None = None  # realtime: autoscaling adds instances up to this; None: no autoscaling
    target_invocations_per_instance: int = 100  # realtime: autoscaling's target, per instance and minute
    data_capture_percent: int = 0  # realtime, async: share of requests saved with their answers in S3; 0: off
    async_max_concurrency: int = 4  # async: requests each instance works on at once
    canary_percent: int = 0  # realtime: share of capacity a new model gets first, for bake_seconds; 0: all at once
    bake_seconds: int = 300  # realtime: alarms watch a new model this long before the previous one goes
    rollback_errors_per_minute: int = 5  # realtime: 5XX answers within a minute that roll a new model back
    rollback_latency_ms: int = 0  # realtime: average model latency over a minute that rolls back; 0: not watched


@dataclass
class RemoteConfig:
    """How `train --remote` runs the model as a SageMaker training job."""

    instance_type: str = "ml.m5.large"  # a GPU type (ml.g5.xlarge, ml.p4d.24xlarge...) gets the GPU image
    instance_count: int = 1  # above 1: torchrun across the instances (SageMaker's torch_distributed)
    volume_size_gb: int = 30
    max_runtime_seconds: int = 24 * 3600
    spot: bool = False  # managed spot capacity; the job resumes from its checkpoints in S3 when interrupted
    max_wait_seconds: int | None = None  # spot: runtime plus waiting for capacity; None: twice the runtime
    input_mode: str = "File"  # File copies the channels first; FastFile streams them from S3
    framework_version: str = "2.6"  # of the AWS PyTorch images
    py_version: str = "py312"
    image_uri: str | None = None  # your own training image instead of the AWS PyTorch one


@dataclass
class GateConfig:
    """The quality a bundle must reach before `promote` registers it (the contract's goal metric)."""

    threshold: float | None = None  # None: the goal threshold of the model's contract; no threshold: no gate


@dataclass
class RunConfig:
    """What every model's config has; a model adds its own `model` section."""

    data: DataConfig = field(default_factory=DataConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    remote: RemoteConfig = field(default_factory=RemoteConfig)
    deploy: DeployConfig = field(default_factory=DeployConfig)
    gate: GateConfig = field(default_factory=GateConfig)


def load(schema: type[T], path: Path, overrides: Sequence[str] = ()) -> T:
    """Build a `schema` instance from the YAML file at `path` and dotlist `overrides`."""
    base = OmegaConf.structured(schema)
    merged = config_parsing.merge(base, config_parsing.read_file(path), path)
    merged = config_parsing.merge(merged, config_parsing.read_overrides(overrides), "overrides")
    try:
        loaded = OmegaConf.to_object(merged)
    except OmegaConfBaseException as error:
        raise ConfigError(f"{path}: {config_parsing.describe(error)}") from error
    if isinstance(loaded, RunConfig):
        validate(loaded)
    return loaded


def validate(cfg: RunConfig) -> None:
    """Refuse values no run can use (the schema checks only their types): one line naming the key.

    Besides the core sections' rules, any section whose dataclass has a `rules()` method (a model's
    `model` section, say) adds its own, as `config_rules.Rule`s whose keys are relative to that section.
    """
    config_rules.enforce([*config_rules.core_rules(cfg), *config_rules.section_rules(cfg)])


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


# Names earlier model folders use here, now in a sibling module (found with a DeprecationWarning).
MOVED = {
    "Rule": "config_rules",
    "among": "config_rules",
    "at_least": "config_rules",
    "between": "config_rules",
    "each": "config_rules",
    "finite": "config_rules",
    "positive": "config_rules",
    "optional": "config_rules",
    "normalize_overrides": "config_parsing",
}
__getattr__ = moved.forwarder(__name__, MOVED)
