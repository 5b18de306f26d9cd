"""Typed run configs: OmegaConf structured dataclasses, loaded from YAML plus overrides.

A model's config is a dataclass that extends `RunConfig` with a `model` section. It is filled
from the model's `config.yaml`, then from overrides, each in OmegaConf's dotlist form
(`trainer.max_epochs=2`) or as `--trainer.max_epochs 2` (how SageMaker passes hyperparameters).
Unknown keys and values of the wrong type are errors, not surprises.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import yaml
from omegaconf import MISSING, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .errors import ProjectError

T = TypeVar("T")

PRECISIONS = ("32", "bf16-mixed", "16-mixed")
SCHEDULER_INTERVALS = ("epoch", "step")
INPUT_MODES = ("File", "FastFile")
MAX_VALUES = 100_000  # values a config file may hold, its YAML aliases expanded
CHANNELS = {"train": "path", "validation": "validation", "test": "test"}  # a job's input channels -> DataConfig keys


class ConfigError(ProjectError):
    """A config file or override that does not fit the model's config schema."""


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
    """How the model is served on SageMaker (parameters of infra/model.yaml)."""

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

    def stack_parameters(self) -> dict[str, str]:
        return {
            "EndpointType": self.endpoint_type,
            "MemorySizeInMB": str(self.memory_size_mb),
            "MaxConcurrency": str(self.max_concurrency),
            "InstanceType": self.instance_type,
            "InstanceCount": str(self.instance_count),
            "MaxInstanceCount": str(self.max_instances or self.instance_count),
            "TargetInvocationsPerInstance": str(self.target_invocations_per_instance),
            "DataCapturePercent": str(self.data_capture_percent),
            "AsyncMaxConcurrency": str(self.async_max_concurrency),
            "CanaryPercent": str(self.canary_percent),
            "BakeSeconds": str(self.bake_seconds),
            "RollbackErrorsPerMinute": str(self.rollback_errors_per_minute),
            "RollbackLatencyMicroseconds": str(self.rollback_latency_ms * 1000),
        }


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
    merged = _merge(base, _read_yaml(path), path)
    merged = _merge(merged, _parse_dotlist(overrides), "overrides")
    try:
        loaded = OmegaConf.to_object(merged)
    except OmegaConfBaseException as error:
        raise ConfigError(f"{path}: {_describe(error)}") from error
    if isinstance(loaded, RunConfig):
        validate(loaded)
    return loaded


def validate(cfg: RunConfig) -> None:
    """Refuse values no run can use (the schema checks only their types): one line naming the key.

    Besides the core sections' rules, any section whose dataclass has a `rules()` method (a model's
    `model` section, say) adds its own, as `Rule`s whose keys are relative to that section.
    """
    for key, value, ok, expected in [*_rules(cfg), *_section_rules(cfg)]:
        if not ok(value):
            raise ConfigError(f"{key}: {_shown(value)} is not allowed; expected {expected}")


class Rule(NamedTuple):
    """A check of one config value: its key, the value, whether it is allowed, and what is expected instead."""

    key: str
    value: object
    ok: Callable[[Any], bool]
    expected: str


def finite(value) -> bool:
    """A number, not NaN or infinite."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def positive(value) -> bool:
    """A finite number above 0."""
    return finite(value) and value > 0


def at_least(low: float) -> Callable[[Any], bool]:
    """A finite number of `low` or more."""
    return lambda value: finite(value) and value >= low


def between(low: float, high: float, *, high_allowed: bool = True) -> Callable[[Any], bool]:
    """A number from `low` to `high` (`high` itself only when `high_allowed`)."""
    return lambda value: finite(value) and low <= value and (value <= high if high_allowed else value < high)


def optional(rule: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """None, or a value `rule` allows."""
    return lambda value: value is None or rule(value)


def among(choices) -> Callable[[Any], bool]:
    """One of `choices`."""
    return lambda value: value in choices


def each(rule: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """A list whose every item `rule` allows."""
    return lambda values: all(rule(value) for value in values)


def _shown(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}..."


def _section_rules(cfg: RunConfig) -> list[Rule]:
    """The rules each section declares with a `rules()` method, their keys prefixed with the section's name."""
    found = []
    for section in fields(cfg):
        declared = getattr(getattr(cfg, section.name), "rules", None)
        if callable(declared):
            found += [Rule(f"{section.name}.{key}", *rest) for key, *rest in declared()]
    return found


def _rules(cfg: RunConfig) -> list[Rule]:
    def scales(v):  # autoscaling between instance_count and max_instances
        return v is None or v >= cfg.deploy.instance_count

    def captures(v):  # SageMaker captures data on instances only
        return 0 <= v <= 100 and (v == 0 or cfg.deploy.endpoint_type in cfg.deploy.ON_INSTANCES)

    trainer, data, remote, deploy = cfg.trainer, cfg.data, cfg.remote, cfg.deploy
    checks = [
        ("trainer.max_epochs", trainer.max_epochs, at_least(1), "1 or more"),
        ("trainer.checkpoint_every", trainer.checkpoint_every, at_least(0), "0 (never) or more"),
        ("trainer.precision", trainer.precision, among(PRECISIONS), f"one of {', '.join(PRECISIONS)}"),
        ("trainer.accumulate_grad_batches", trainer.accumulate_grad_batches, at_least(1), "1 or more"),
        ("trainer.gradient_clip_norm", trainer.gradient_clip_norm, optional(positive), "a number above 0, or null"),
        ("trainer.early_stopping_patience", trainer.early_stopping_patience, optional(at_least(1)), "1 or more"),
        ("gate.threshold", cfg.gate.threshold, optional(finite), "a number, or null"),
        ("optimizer.lr", cfg.optimizer.lr, at_least(0), "a number, 0 or more"),
        ("optimizer.weight_decay", cfg.optimizer.weight_decay, at_least(0), "a number, 0 or more"),
        ("scheduler.interval", cfg.scheduler.interval, among(SCHEDULER_INTERVALS), "epoch or step"),
        ("data.batch_size", data.batch_size, at_least(1), "1 or more"),
        ("data.val_fraction", data.val_fraction, between(0, 1, high_allowed=False), "between 0 and 1"),
        ("data.num_workers", data.num_workers, at_least(0), "0 or more"),
        ("data.prefetch_factor", data.prefetch_factor, optional(at_least(1)), "1 or more, or null"),
        ("remote.instance_count", remote.instance_count, at_least(1), "1 or more"),
        ("remote.input_mode", remote.input_mode, among(INPUT_MODES), f"one of {', '.join(INPUT_MODES)}"),
        ("deploy.endpoint_type", deploy.endpoint_type, among(deploy.TYPES), f"one of {', '.join(deploy.TYPES)}"),
        ("deploy.instance_count", deploy.instance_count, at_least(1), "1 or more"),
        ("deploy.max_instances", deploy.max_instances, scales, "instance_count or more, or null"),
        ("deploy.target_invocations_per_instance", deploy.target_invocations_per_instance, at_least(1), "1 or more"),
        ("deploy.data_capture_percent", deploy.data_capture_percent, captures, "0 (off) to 100; 0 when serverless"),
        ("deploy.async_max_concurrency", deploy.async_max_concurrency, between(1, 1000), "1 to 1000"),
        ("deploy.canary_percent", deploy.canary_percent, between(0, 50), "0 (all at once) to 50"),
        ("deploy.bake_seconds", deploy.bake_seconds, between(0, 3600), "0 to 3600"),
        ("deploy.rollback_errors_per_minute", deploy.rollback_errors_per_minute, at_least(1), "1 or more"),
        ("deploy.rollback_latency_ms", deploy.rollback_latency_ms, at_least(0), "0 (not watched) or more"),
    ]
    return [Rule(*check) for check in checks]


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
                    raise ConfigError(f"override {'--' + arg!r} has no value")
                arg = f"{arg}={args.pop(0)}"
        if "=" not in arg or arg.startswith("="):
            raise ConfigError(f"override {arg!r} is not of the form key=value")
        items.append(arg)
    return items


def _read_yaml(path: Path):
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as error:
        raise ConfigError(f"config file not found: {path}") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text (at byte offset {error.start})") from error
    except OSError as error:  # a folder, say, or a file that may not be read
        raise ConfigError(f"{path}: not readable: {error.strerror or error}") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {_yaml_problem(error)}") from error
    except RecursionError as error:
        raise ConfigError(f"{path}: nested too deeply") from error
    if not isinstance(content, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {type(content).__name__}")
    _check_size(content, path)
    try:
        return OmegaConf.create(content)
    except OmegaConfBaseException as error:
        raise ConfigError(f"{path}: {_describe(error)}") from error


def _check_size(content: object, source: object) -> None:
    """Refuse a YAML alias that contains itself (`a: &x [*x]`), or aliases that expand beyond MAX_VALUES."""
    seen, pending = 0, [(content, ())]
    while pending:
        value, outer = pending.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise ConfigError(f"{source}: more than {MAX_VALUES} values once its YAML aliases are expanded")
        if isinstance(value, (dict, list)):
            if any(value is parent for parent in outer):
                raise ConfigError(f"{source}: a YAML alias refers to a value that contains it (a value inside itself)")
            children = value.values() if isinstance(value, dict) else value
            pending.extend((child, (*outer, value)) for child in children)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """A YAML error's problem and where it is, on one line."""
    problem = getattr(error, "problem", None) or (str(error).splitlines() or [type(error).__name__])[0]
    mark = getattr(error, "problem_mark", None)
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark else problem


def _parse_dotlist(overrides: Sequence[str]):
    parsed = OmegaConf.create()
    for item in normalize_overrides(overrides):
        try:
            parsed.merge_with_dotlist([item])
        except OmegaConfBaseException as error:
            raise ConfigError(f"overrides: {_describe(error)}") from error
        except yaml.YAMLError as error:
            raise ConfigError(f"override {item!r}: its value is not valid YAML: {_yaml_problem(error)}") from error
        except RecursionError as error:
            raise ConfigError(f"override {item!r}: its value is nested too deeply") from error
        except (IndexError, KeyError, TypeError, ValueError) as error:  # OmegaConf's reading of odd keys
            raise ConfigError(f"override {item!r}: not a key OmegaConf can read") from error
    return parsed


def _merge(base, update, source: object):
    try:
        return OmegaConf.merge(base, update)
    except OmegaConfBaseException as error:
        raise ConfigError(f"{source}: {_describe(error)}") from error


def _describe(error: OmegaConfBaseException) -> str:
    """OmegaConf's message without its multi-line context dump."""
    message = str(error).splitlines()[0] if str(error).strip() else type(error).__name__
    key = " ".join(str(getattr(error, "full_key", None) or "").splitlines())  # a key may hold a newline
    return f"{message} (key: {key})" if key and key not in message else message
