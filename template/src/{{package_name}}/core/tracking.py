"""Experiment tracking: every run's metrics go to its folder, and to MLflow when chosen.

The backend is `settings.TRACKING` ("mlflow" or "none"). MLflow logs to `MLFLOW_TRACKING_URI`
when set (a tracking server, Databricks, SageMaker managed MLflow), else to a local SQLite
store (`settings.MLFLOW_DEFAULT_URI`); browse it with `mlflow ui --backend-store-uri <uri>`.
Inside a SageMaker training job MLflow is used only when MLFLOW_TRACKING_URI is set.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from .. import settings
from . import environment

HISTORY = "history.jsonl"


class Tracker:
    """Record a run's parameters and per-epoch metrics."""

    def __init__(
        self, experiment: str, run_name: str, output_dir: Path, backend: str | None = None, enabled: bool = True
    ):
        self.enabled = enabled
        self.history_path = Path(output_dir) / HISTORY
        if enabled:
            self.history_path.parent.mkdir(parents=True, exist_ok=True)
        use_mlflow = enabled and (backend or settings.TRACKING) == "mlflow" and _mlflow_reachable()
        self._mlflow = _start_mlflow(experiment, run_name) if use_mlflow else None

    def log_params(self, params: dict) -> None:
        """Record the run's parameters (a nested config is flattened to dotted keys)."""
        if self._mlflow:
            self._mlflow.log_params(_flatten(params))

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        """Record metrics for one step (an epoch)."""
        if not self.enabled:
            return
        with self.history_path.open("a") as handle:
            handle.write(json.dumps({"step": step, **metrics}) + "\n")
        if self._mlflow:
            self._mlflow.log_metrics(metrics, step=step)

    def close(self, succeeded: bool = True) -> None:
        """Mark the run finished (or failed)."""
        if self._mlflow:
            self._mlflow.end_run(status="FINISHED" if succeeded else "FAILED")
            self._mlflow = None

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(succeeded=exc_type is None)


def read_history(output_dir: Path) -> list[dict]:
    """The metrics a run logged, one dict per step."""
    path = Path(output_dir) / HISTORY
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _mlflow_reachable() -> bool:
    """In a SageMaker job only a configured tracking server is worth logging to."""
    return "MLFLOW_TRACKING_URI" in os.environ or not environment.in_sagemaker_job()


def _start_mlflow(experiment: str, run_name: str):
    import mlflow  # imported here: only runs tracked with MLflow need it

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    mlflow.set_tracking_uri(os.environ.get("MLFLOW_TRACKING_URI", settings.MLFLOW_DEFAULT_URI))
    mlflow.set_experiment(experiment)
    mlflow.start_run(run_name=run_name)
    return mlflow


def _flatten(params: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
