"""The Weights & Biases backend of core/trainer/tracking.py: config, per-epoch metrics, provenance, the model.

Runs go to the W&B project named by `WANDB_PROJECT` (default: `settings.WANDB_PROJECT`) under
`WANDB_ENTITY`; log in once with `wandb login`, or set `WANDB_MODE=offline` to keep runs on
disk under `wandb/` and `wandb sync` them later. Inside a SageMaker training job W&B is used
only when WANDB_API_KEY (or WANDB_MODE) is set.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..basics import project
from . import environment


def start(experiment: str, run_name: str, provenance: dict) -> WandbRun | None:
    """A W&B run for one training run; None in a SageMaker job with no W&B credentials."""
    if environment.in_sagemaker_job() and not ({"WANDB_API_KEY", "WANDB_MODE"} & set(os.environ)):
        return None
    return WandbRun(experiment, run_name, provenance)


class WandbRun:
    """One W&B run in the model's group, with the source commit in its config."""

    def __init__(self, experiment: str, run_name: str, provenance: dict):
        import wandb  # imported here: only tracked runs pay for it

        self._experiment = experiment
        self._run = wandb.init(
            project=os.environ.get("WANDB_PROJECT", project.settings().WANDB_PROJECT),
            group=experiment,
            job_type="train",
            name=run_name,
            config={"provenance": provenance},
            settings=wandb.Settings(silent=True),
        )
        self._wandb = wandb
        self.reference = {"wandb_run_id": self._run.id, "wandb_project": self._run.project}

    def log_params(self, params: dict) -> None:
        self._run.config.update(params)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self._run.log({**metrics, "epoch": step}, step=step)

    def log_model(self, files: list[Path]) -> None:
        artifact = self._wandb.Artifact(self._experiment, type="model")
        for path in files:
            artifact.add_file(str(path))
        self._run.log_artifact(artifact)

    def finish(self, succeeded: bool) -> None:
        self._run.finish(exit_code=0 if succeeded else 1)
