"""The project's models at a glance: each one's task, goal, finished runs and latest metrics."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import contract, registry, runs
from .records import read_json


@dataclass(frozen=True)
class ModelSummary:
    name: str
    task: str
    goal: str  # "<metric> (<min|max>)"
    runs: int  # finished runs
    latest: Path | None  # the latest finished run
    metrics: dict  # the latest run's validation metrics
    declared: bool  # whether the model has a contract.py (else the legacy defaults apply)


def models() -> list[ModelSummary]:
    """Every model of the project, by name."""
    return [summarize(name) for name in registry.names()]


def summarize(name: str) -> ModelSummary:
    declared = contract.of(name)
    finished = runs.list_runs(name)
    latest = finished[-1] if finished else None
    metrics = read_json(latest / runs.METRICS) if latest else {}
    goal = f"{declared.goal.metric} ({declared.goal.direction})"
    return ModelSummary(name, declared.task, goal, len(finished), latest, metrics, contract.has_contract(name))
