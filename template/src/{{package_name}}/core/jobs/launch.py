"""Training as a SageMaker job, as `train` starts it: staged, run locally as a stand-in, or launched on AWS."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..basics import config_parsing
from ..catalog import selection
from . import emulator, job_files, remote


@dataclass(frozen=True)
class Launched:
    job: str
    resources: object  # the run config's `remote` section: instance type and count, spot


def hyperparameters(overrides: list[str]) -> dict[str, str]:
    """Overrides as a training job's hyperparameters: {"trainer.max_epochs": "5"}."""
    return dict(item.split("=", 1) for item in config_parsing.normalize_overrides(overrides))


def local_job(model: str, overrides: list[str]) -> Path:
    """Run MODEL's training job as a local stand-in for SageMaker, on `remote.instance_count` local hosts."""
    return emulator.run_local_job(model, selection.model_config(model, overrides), hyperparameters(overrides))


def remote_job(model: str, overrides: list[str], endpoint_url: str | None) -> Launched:
    """Launch MODEL's training job on SageMaker."""
    run_config = selection.model_config(model, overrides)
    job = remote.launch_training(model, run_config, hyperparameters(overrides), endpoint_url)
    return Launched(job, run_config.remote)


def fetch_when_done(model: str, job: str, endpoint_url: str | None) -> Path:
    """Wait for `job` to finish, then fetch its model as a run of MODEL."""
    return job_files.fetch_model(model, remote.wait_for_training(job, endpoint_url), endpoint_url)
