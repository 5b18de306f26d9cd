"""The MLflow backend of core/trainer/tracking.py: params, per-epoch metrics, git provenance, the model.

Runs go to `MLFLOW_TRACKING_URI` when set (a tracking server, Databricks, SageMaker managed
MLflow), else to a local SQLite store (`settings.MLFLOW_DEFAULT_URI`) with artifacts under
`mlruns/`; browse them with `mlflow ui --backend-store-uri sqlite:///mlflow.db`. Inside a
SageMaker training job MLflow is used only when MLFLOW_TRACKING_URI is set.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from ..basics import config, project
from . import environment

FLUSH_SECONDS = 10.0  # metrics reach the store at most this late (and when the run ends)


def tracking_uri() -> str:
    """The MLflow store runs are logged to."""
    return os.environ.get("MLFLOW_TRACKING_URI") or project.settings().MLFLOW_DEFAULT_URI  # set but empty: unset


def start(experiment: str, run_name: str, provenance: dict) -> MlflowRun | None:
    """An MLflow run for one training run; None in a SageMaker job with no tracking server."""
    if environment.in_sagemaker_job() and not os.environ.get("MLFLOW_TRACKING_URI"):
        return None
    return MlflowRun(experiment, run_name, provenance)


class MlflowRun:
    """One MLflow run, tagged with the source commit.

    Each MLflow call costs about 8 ms of CPU on the SQLite store (a network round trip on a
    server), so epoch metrics are buffered and written in one batch every `FLUSH_SECONDS` and
    when the run ends: per-epoch steps are kept, and training does not wait on the store.
    """

    def __init__(self, experiment: str, run_name: str, provenance: dict):
        import mlflow  # imported here: only tracked runs pay for it
        from mlflow.entities import Metric

        logging.getLogger("mlflow").setLevel(logging.WARNING)
        self._mlflow, self._metric = mlflow, Metric
        mlflow.set_tracking_uri(tracking_uri())
        mlflow.set_experiment(experiment)
        tags = {"git_dirty": str(provenance.get("git_dirty")).lower()}
        if provenance.get("git_commit"):
            tags["mlflow.source.git.commit"] = provenance["git_commit"]
        self.run_id = mlflow.start_run(run_name=run_name, tags=tags).info.run_id
        self.reference = {"mlflow_run_id": self.run_id, "mlflow_tracking_uri": tracking_uri()}
        self._client = mlflow.MlflowClient(tracking_uri())
        self._buffer: list = []
        self._flushed = time.monotonic()

    def log_params(self, params: dict) -> None:
        self._mlflow.log_params(config.flatten(params), run_id=self.run_id)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        now = int(time.time() * 1000)
        self._buffer += [self._metric(key, float(value), now, step) for key, value in metrics.items()]
        if time.monotonic() - self._flushed >= FLUSH_SECONDS:
            self._flush()

    def log_model(self, files: list[Path]) -> None:
        for path in files:
            self._mlflow.log_artifact(str(path), artifact_path="model", run_id=self.run_id)

    def finish(self, succeeded: bool) -> None:
        try:
            self._flush()
        finally:
            self._mlflow.end_run(status="FINISHED" if succeeded else "FAILED")

    def _flush(self) -> None:
        if self._buffer:
            self._client.log_batch(self.run_id, metrics=self._buffer)
            self._buffer = []
        self._flushed = time.monotonic()
