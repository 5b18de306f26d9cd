"""Which run a command means: the latest, one by id, or the best by a metric in the model's direction."""

from __future__ import annotations

from pathlib import Path

from ..basics import config
from ..basics.errors import ProjectError
from . import contract, registry, run_summaries, runs


def model_config(model: str, overrides: list[str] = ()) -> object:
    """MODEL's config as training resolves it: its config.yaml, then `overrides`, checked against its schema."""
    return config.load(registry.module(model, "model").Config, registry.folder(model) / "config.yaml", overrides)


def pick_run(model: str, run: str | None = None, best: str | None = None, goal: str | None = None) -> Path:
    """The run folder of MODEL that `run` (an id) or `best` (a metric, ranked by `goal`) picks; default: the latest."""
    registry.folder(model)  # an unknown model is named as such, not as one without runs
    if run and best:
        raise ProjectError("give --run or --best, not both")
    if goal and not best:
        raise ProjectError("--goal needs --best METRIC")
    return run_summaries.best_run(model, *ranking(model, best, goal)) if best else runs.find_run(model, run)


def ranking(model: str, metric: str | None = None, goal: str | None = None) -> tuple[str, str]:
    """The metric to rank MODEL's runs by (default: its goal) and its direction (default: from its contract)."""
    declared = contract.of(model)
    metric = metric or declared.goal.metric
    return metric, goal or declared.direction(metric)
