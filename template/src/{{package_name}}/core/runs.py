"""Local run folders: `runs/<model>/<run-id>/` holding weights, resolved config and metrics."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .. import settings
from . import config
from .checkpoints import LAST
from .errors import ProjectError

WEIGHTS = "model.pt"
CONFIG = "config.yaml"
METRICS = "metrics.json"
PROVENANCE = "run.json"  # written by core/tracking.py
SERVED = (WEIGHTS, CONFIG)  # what serving needs from every run, besides the artifacts its contract lists


class RunError(ProjectError):
    """A run that does not exist or is incomplete."""


def runs_root() -> Path:
    """The folder all runs go to, relative to the working directory."""
    return Path(settings.RUNS_DIR)


def new_run_dir(model: str) -> Path:
    """Create a fresh run folder; run ids sort by start time."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    path = runs_root() / model / f"{stamp}-{secrets.token_hex(3)}"
    path.mkdir(parents=True)
    return path


def list_runs(model: str) -> list[Path]:
    """The model's finished runs (those with weights), oldest first."""
    folder = runs_root() / model
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if (p / WEIGHTS).is_file())


def resumable_run(model: str, run_id: str) -> Path:
    """The run `run_id` of `model`, if it can be resumed: it has a config and a last checkpoint."""
    path = runs_root() / model / run_id
    if "/" in run_id or run_id.startswith(".") or not (path / CONFIG).is_file():
        raise RunError(f"no run '{run_id}' of model '{model}' to resume (runs are in {runs_root() / model})")
    if not (path / "checkpoints" / LAST).is_file():
        raise RunError(f"run '{run_id}' has no checkpoint to resume from (trainer.checkpoint_every was not reached)")
    return path


def resume_overrides(run_dir: Path) -> list[str]:
    """The config a run was started with, as overrides that reproduce it (`trainer.max_epochs=30`...)."""
    saved = yaml.safe_load((run_dir / CONFIG).read_text()) or {}
    return [f"{key}={json.dumps(value)}" for key, value in config.flatten(saved).items()]


def find_run(model: str, run_id: str | None = None) -> Path:
    """The run called `run_id`, or the latest finished run of `model`."""
    if run_id is None:
        runs = list_runs(model)
        if not runs:
            raise RunError(f"model '{model}' has no finished run yet: train it first")
        return runs[-1]
    path = runs_root() / model / run_id
    if not (path / WEIGHTS).is_file():
        known = ", ".join(p.name for p in list_runs(model)) or "none"
        raise RunError(f"no finished run '{run_id}' for model '{model}' (runs: {known})")
    return path


@dataclass(frozen=True)
class RunSummary:
    """A finished run: its folder, final validation metrics and provenance (git commit, tracker ids)."""

    path: Path
    metrics: dict[str, float] = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)


def summaries(model: str) -> list[RunSummary]:
    """Every finished run of `model`, oldest first."""
    return [summarize(path) for path in list_runs(model)]


def summarize(run_dir: Path) -> RunSummary:
    """What a run's folder records about it (empty metrics or provenance when it has none)."""
    return RunSummary(run_dir, _read_json(run_dir / METRICS), _read_json(run_dir / PROVENANCE))


def varying_params(found: list[RunSummary]) -> dict[str, list[object]]:
    """The config values (dotted keys) that differ between `found` runs: key -> one value per run."""
    params = [config.flatten(_read_yaml(run.path / CONFIG)) for run in found]
    keys = dict.fromkeys(key for run in params for key in run)
    columns = {key: [run.get(key) for run in params] for key in keys}
    return {key: values for key, values in columns.items() if len({json.dumps(v, default=str) for v in values}) > 1}


def ranked(model: str, metric: str, direction: str) -> list[RunSummary]:
    """The finished runs of `model` that have `metric`, best first by `direction` (ties: the latest first)."""
    if direction not in ("min", "max"):
        raise RunError(f"direction must be 'min' or 'max', not '{direction}'")
    scored = [run for run in reversed(summaries(model)) if isinstance(run.metrics.get(metric), (int, float))]
    return sorted(scored, key=lambda run: run.metrics[metric], reverse=direction == "max")


def best_run(model: str, metric: str, direction: str) -> Path:
    """The finished run of `model` with the best final `metric`."""
    candidates = ranked(model, metric, direction)
    if not candidates:
        known = sorted({name for run in summaries(model) for name in run.metrics}) or ["none"]
        raise RunError(f"no run of model '{model}' has metric '{metric}' (metrics: {', '.join(known)})")
    return candidates[0].path


def _read_yaml(path: Path) -> dict:
    try:
        content = yaml.safe_load(path.read_text())
    except (FileNotFoundError, yaml.YAMLError):
        return {}
    return content if isinstance(content, dict) else {}


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
