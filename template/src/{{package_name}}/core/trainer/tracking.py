"""Experiment tracking behind one small interface; models and the trainer never import a tracker.

Whatever the backend, every run writes its per-epoch metrics to `history.jsonl` and its
provenance (git commit, dirty flag, the tracker's run id, and the fingerprints of the data it
trained on: core/basics/fingerprint.py) to `run.json` in its folder.
`settings.TRACKING` is the one place a backend is chosen: "none", or one of BACKENDS, each a module
`core/trainer/<name>_tracking.py` with a `start(experiment, run_name, provenance)` function returning
a `Backend` (or None when the backend should stay off, e.g. in a SageMaker job with no tracking
server configured). Every backend's module ships; only the chosen one is imported, and its client
package is a dependency of the project (the `tracking` answer when it was generated).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
from pathlib import Path
from typing import Protocol

from ..basics import fingerprint, project
from ..basics.errors import ProjectError
from ..catalog.records import json_text
from ..catalog.runs import PROVENANCE

HISTORY = "history.jsonl"
BACKENDS = ("mlflow", "wandb")
# A SageMaker job has no git checkout: it gets the launching commit in these.
COMMIT_VARIABLE, DIRTY_VARIABLE = "PROJECT_GIT_COMMIT", "PROJECT_GIT_DIRTY"
# Tracker settings a job inherits from the machine that launches it (never credentials: a job's
# environment is readable by anyone who can describe it).
FORWARDED_VARIABLES = ("MLFLOW_TRACKING_URI", "WANDB_PROJECT", "WANDB_ENTITY")


class TrackingError(ProjectError):
    """A tracking backend that does not exist or cannot start (an unreachable server, say)."""


class Backend(Protocol):
    """What a tracking backend does for one run."""

    reference: dict[str, str]  # how to find the run in the tracker: at least {"<name>_run_id": ...}

    def log_params(self, params: dict) -> None: ...
    def log_metrics(self, metrics: dict[str, float], step: int) -> None: ...
    def log_model(self, files: list[Path]) -> None: ...
    def finish(self, succeeded: bool) -> None: ...


class Tracker:
    """Record one run: parameters, per-epoch metrics and the trained model."""

    def __init__(self, experiment: str, run_dir: Path, enabled: bool = True, backend: str | None = None):
        self.enabled = enabled
        self.run_dir = Path(run_dir)
        self.provenance = source_version() if enabled else {}
        name = backend or project.settings().TRACKING
        self._backend = start_backend(name, experiment, self.run_dir.name, self.provenance) if enabled else None
        reference = self._backend.reference if self._backend else {}
        core = {"core": {"package": project.CORE, "version": project.core_version()}}
        self.run_record = {"experiment": experiment, "tracking": name, **self.provenance, **core, **reference}
        if enabled:
            self._write_record()

    def log_params(self, params: dict) -> None:
        """Record the run's parameters (a nested config)."""
        if self._backend:
            self._backend.log_params(params)

    def log_data(self, sources: dict[str, str]) -> None:
        """Record the fingerprints of the data sources, by channel (see core/basics/fingerprint.py).

        They go to run.json under "data" ({channel: {...}}) and to the tracker as the params
        `data_fingerprint.<channel>`.
        """
        channels = fingerprint.of_channels(sources) if self.enabled else {}
        if not channels:
            return
        self.run_record["data"] = channels
        self._write_record()
        if self._backend:
            values = {name: found.get("fingerprint", "error") for name, found in channels.items()}
            self._backend.log_params({"data_fingerprint": values})

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        """Record metrics for one step (an epoch)."""
        if not self.enabled:
            return
        with (self.run_dir / HISTORY).open("a") as handle:
            handle.write(json_text({"step": step, **metrics}) + "\n")
        if self._backend:
            self._backend.log_metrics(metrics, step)

    def log_best(self, scores: dict[str, float], step: int) -> None:
        """Record the scores of the weights the run keeps (its best epoch) as `best_<name>`, at the last `step`."""
        if self._backend:
            self._backend.log_metrics({f"best_{name}": value for name, value in scores.items()}, step)

    def log_model(self, files: list[Path]) -> None:
        """Keep the trained model's files (weights, resolved config) with the run in the tracker."""
        if self._backend:
            self._backend.log_model(files)

    def close(self, succeeded: bool = True) -> None:
        """Mark the run finished (or failed)."""
        if self._backend:
            self._backend.finish(succeeded)
            self._backend = None

    def _write_record(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / PROVENANCE).write_text(json.dumps(self.run_record, indent=2) + "\n")

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(succeeded=exc_type is None)


def start_backend(name: str, experiment: str, run_name: str, provenance: dict) -> Backend | None:
    """The backend called `name` ("none" for none), started for one run."""
    if name == "none":
        return None
    if name not in BACKENDS:
        raise TrackingError(
            f"unknown tracking backend '{name}' in settings.TRACKING: choose none, {', '.join(BACKENDS)}"
        )
    module = importlib.import_module(f"{__package__}.{name}_tracking")
    try:
        return module.start(experiment, run_name, provenance)  # each backend imports its library here
    except ModuleNotFoundError as error:
        missing = f"tracking with {name} needs the '{error.name}' package: install it or choose another"
        raise TrackingError(missing) from error
    except Exception as error:
        raise TrackingError(f"tracking with {name} could not start: {type(error).__name__}: {error}") from error


def source_version(cwd: Path | None = None) -> dict:
    """The git commit the code came from and whether the working tree had uncommitted changes."""
    if COMMIT_VARIABLE in os.environ:
        return {"git_commit": os.environ[COMMIT_VARIABLE], "git_dirty": os.environ.get(DIRTY_VARIABLE) == "true"}
    commit = _git("rev-parse", "HEAD", cwd=cwd)
    if commit is None:
        return {"git_commit": None, "git_dirty": None}
    changes = _git("status", "--porcelain", cwd=cwd)
    return {"git_commit": commit, "git_dirty": bool(changes)}


def job_environment() -> dict[str, str]:
    """What a training job needs to track like a local run: the launching commit, tracker settings."""
    environment = {name: os.environ[name] for name in FORWARDED_VARIABLES if os.environ.get(name)}
    if version := project.core_version():
        environment[project.VERSION_VARIABLE] = version
    provenance = source_version()
    if provenance["git_commit"]:
        environment[COMMIT_VARIABLE] = provenance["git_commit"]
        environment[DIRTY_VARIABLE] = str(provenance["git_dirty"]).lower()
    return environment


def read_history(run_dir: Path) -> list[dict]:
    """The metrics a run logged, one dict per step."""
    path = Path(run_dir) / HISTORY
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _git(*args: str, cwd: Path | None) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
