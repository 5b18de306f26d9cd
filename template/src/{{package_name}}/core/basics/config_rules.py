"""Values no run can use: the `Rule`s a config's values must meet, and the core sections' own rules.

A rule names its key, holds the value, a predicate that allows it or not, and what is expected
instead; the predicates here (`at_least`, `between`, `each`...) build the checks. A model's
section adds its rules with a `rules()` method (see `section_rules`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import Any, NamedTuple

from .errors import ConfigError

PRECISIONS = ("32", "bf16-mixed", "16-mixed")
SCHEDULER_INTERVALS = ("epoch", "step")
INPUT_MODES = ("File", "FastFile")


class Rule(NamedTuple):
    """A check of one config value: its key, the value, whether it is allowed, and what is expected instead."""

    key: str
    value: object
    ok: Callable[[Any], bool]
    expected: str


def enforce(rules: Iterable[Rule]) -> None:
    """Raise a one-line `ConfigError` naming the key of the first value its rule refuses."""
    for key, value, ok, expected in rules:
        if not ok(value):
            raise ConfigError(f"{key}: {_shown(value)} is not allowed; expected {expected}")


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


def section_rules(cfg) -> list[Rule]:
    """The rules each section of `cfg` declares with a `rules()` method, keys prefixed with the section's name."""
    found = []
    for section in fields(cfg):
        declared = getattr(getattr(cfg, section.name), "rules", None)
        if callable(declared):
            found += [Rule(f"{section.name}.{key}", *rest) for key, *rest in declared()]
    return found


def core_rules(cfg) -> list[Rule]:
    """The rules of the sections every run config has (`trainer`, `data`, `remote`, `deploy`...)."""

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
