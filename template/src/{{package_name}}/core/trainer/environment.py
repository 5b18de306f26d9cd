"""Where a training run reads data and writes artifacts: a SageMaker job, or this machine.

In a SageMaker training job (script mode) the toolkit describes the job through `SM_*`
variables; outside one, the same code falls back to the config's data path and a local run
folder. See the training job contract in the project README.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..basics import config
from ..catalog import runs

CHECKPOINTS = Path("/opt/ml/checkpoints")
RESUME_VARIABLE = "PROJECT_RESUME_RUN"  # a run folder to train on in, from its last checkpoint


@dataclass(frozen=True)
class RunPaths:
    """The folders one training run writes to."""

    model_dir: Path  # weights and resolved config: what gets bundled
    output_dir: Path  # metrics and other outputs
    checkpoint_dir: Path  # resumable state; SageMaker syncs it to S3 when configured


def in_sagemaker_job(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether SageMaker's training toolkit launched this process."""
    return "SM_MODEL_DIR" in environ


def run_paths(model: str, environ: Mapping[str, str] = os.environ) -> RunPaths:
    """The job's folders inside SageMaker, else the run being resumed, else a new local run folder."""
    if in_sagemaker_job(environ):
        model_dir = Path(environ["SM_MODEL_DIR"])
        output_dir = Path(environ.get("SM_OUTPUT_DATA_DIR", model_dir))
        checkpoints = CHECKPOINTS if CHECKPOINTS.is_dir() else output_dir / "checkpoints"
        return RunPaths(model_dir, output_dir, checkpoints)
    run_dir = Path(environ[RESUME_VARIABLE]) if environ.get(RESUME_VARIABLE) else runs.new_run_dir(model)
    return RunPaths(run_dir, run_dir, run_dir / "checkpoints")


@contextmanager
def resuming(run_dir: Path) -> Iterator[None]:
    """Inside the block, training (in this process or its children) goes on in `run_dir`."""
    previous = os.environ.get(RESUME_VARIABLE)
    os.environ[RESUME_VARIABLE] = str(run_dir)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(RESUME_VARIABLE, None)
        else:
            os.environ[RESUME_VARIABLE] = previous


def data_source(channel: str, default: str, environ: Mapping[str, str] = os.environ) -> Path:
    """The folder of input channel `channel` in a job (`SM_CHANNEL_<NAME>`), else `default`."""
    return Path(environ.get(f"SM_CHANNEL_{channel.upper()}", default))


def use_channels(data_config, environ: Mapping[str, str] = os.environ) -> None:
    """Point a data config at the job's channels: `path` at `train`, `validation` and `test` at theirs.

    Outside a job (or for a channel the job does not have) the config's own sources stay.
    """
    for channel, key in config.CHANNELS.items():
        source = getattr(data_config, key)
        if f"SM_CHANNEL_{channel.upper()}" in environ and (source is not None or channel == "train"):
            setattr(data_config, key, str(data_source(channel, source, environ)))


def hyperparameter_overrides(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The job's hyperparameters (`SM_HPS`) as config overrides (`trainer.max_epochs=2`)."""
    hps = json.loads(environ.get("SM_HPS", "{}"))
    return [f"{key}={_as_override_value(value)}" for key, value in sorted(hps.items())]


def _as_override_value(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)
