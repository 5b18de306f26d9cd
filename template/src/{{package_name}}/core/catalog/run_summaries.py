"""A model's finished runs side by side: their metrics, provenance and differing config, ranked by a metric."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..basics import config
from . import contract, runs
from .records import read_json, read_yaml


@dataclass(frozen=True)
class RunSummary:
    """A run: its folder, final validation metrics, provenance (git commit, tracker ids) and status."""

    path: Path
    metrics: dict[str, float] = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    status: str = runs.FINISHED
    error: str = ""


def summaries(model: str, unfinished: bool = False) -> list[RunSummary]:
    """Every finished run of `model` (with `unfinished`: every run), oldest first."""
    return [summarize(path) for path in (runs.every_run(model) if unfinished else runs.list_runs(model))]


def summarize(run_dir: Path) -> RunSummary:
    """What a run's folder records about it (empty metrics or provenance when it has none)."""
    state, error = runs.status(run_dir)
    return RunSummary(run_dir, read_json(run_dir / runs.METRICS), read_json(run_dir / runs.PROVENANCE), state, error)


def varying_params(found: list[RunSummary]) -> dict[str, list[object]]:
    """The config values (dotted keys) that differ between `found` runs: key -> one value per run."""
    params = [config.flatten(read_yaml(run.path / runs.CONFIG)) for run in found]
    keys = dict.fromkeys(key for run in params for key in run)
    columns = {key: [run.get(key) for run in params] for key in keys}
    return {key: values for key, values in columns.items() if len({json.dumps(v, default=str) for v in values}) > 1}


def ranked(model: str, metric: str, direction: str) -> list[RunSummary]:
    """The finished runs of `model` that have `metric`, best first by `direction` (ties: the latest first)."""
    if direction not in contract.DIRECTIONS:
        choices = " or ".join(f"'{choice}'" for choice in contract.DIRECTIONS)
        raise runs.RunError(f"direction must be {choices}, not '{direction}'")
    scored = [run for run in reversed(summaries(model)) if isinstance(run.metrics.get(metric), (int, float))]
    return sorted(scored, key=lambda run: run.metrics[metric], reverse=direction == "max")


def best_run(model: str, metric: str, direction: str) -> Path:
    """The finished run of `model` with the best final `metric`."""
    candidates = ranked(model, metric, direction)
    if not candidates:
        known = sorted({name for run in summaries(model) for name in run.metrics}) or ["none"]
        raise runs.RunError(f"no run of model '{model}' has metric '{metric}' (metrics: {', '.join(known)})")
    return candidates[0].path
