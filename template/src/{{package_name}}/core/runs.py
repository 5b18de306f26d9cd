"""Local run folders: `runs/<model>/<run-id>/` holding weights, resolved config and metrics."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from .. import settings
from .errors import ProjectError

WEIGHTS = "model.pt"
CONFIG = "config.yaml"
METRICS = "metrics.json"


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
