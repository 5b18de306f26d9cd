"""Kinds of task and what each implies: the default metrics, and how to read an answer.

A model's contract names its task. `classification` and `regression` come with defaults;
any other name is a free task, whose contract says how to show its predictions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

Metric = Callable[[torch.Tensor, torch.Tensor], float]


def accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Share of rows whose highest-scoring class is the target."""
    return (logits.argmax(dim=1) == targets).float().mean().item()


def mae(predictions: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean absolute error."""
    return (predictions - targets).abs().mean().item()


def rmse(predictions: torch.Tensor, targets: torch.Tensor) -> float:
    """Root mean squared error."""
    return (predictions - targets).pow(2).mean().sqrt().item()


@dataclass(frozen=True)
class Task:
    """Defaults for one kind of task."""

    name: str
    metrics: dict[str, Metric] = field(default_factory=dict)
    headline: Callable[[dict], str] | None = None  # one prediction, as a short text
    agrees: Callable[[dict, object], bool] | None = None  # a prediction matches the expected answer


def _label(prediction: dict) -> str:
    label = prediction["label"]
    score = prediction.get("probabilities", {}).get(label)
    return f"{label} ({score:.3f})" if isinstance(score, (int, float)) else str(label)


def _value(prediction: dict) -> str:
    return f"{prediction['value']:.4g}"


def _same_label(prediction: dict, expected: object) -> bool:
    return str(prediction.get("label")) == str(expected)


def _close_value(prediction: dict, expected: object) -> bool:
    """Within 20% of the expected value (or 0.1 of it near zero)."""
    value, truth = prediction.get("value"), float(expected)
    return isinstance(value, (int, float)) and math.isfinite(value) and abs(value - truth) <= max(0.2 * abs(truth), 0.1)


CLASSIFICATION = Task("classification", {"accuracy": accuracy}, _label, _same_label)
REGRESSION = Task("regression", {"mae": mae, "rmse": rmse}, _value, _close_value)
KNOWN = {task.name: task for task in (CLASSIFICATION, REGRESSION)}


def get(name: str) -> Task:
    """The task called `name`; a free task (no defaults) for any other name."""
    return KNOWN.get(name) or Task(name)
