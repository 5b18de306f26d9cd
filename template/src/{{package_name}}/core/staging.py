"""The source_dir of a SageMaker training job, and a local stand-in for the job itself.

`stage` writes what a job receives: `train.py` (the entry point, which runs the model's own
`train.main`), `requirements.txt` and the package with `core` and this model. `run_local_job`
lays out an /opt/ml-style tree in a temporary folder with the `SM_*` environment SageMaker's
training toolkit sets, runs the staged entry point there as `python train.py --<hp> <value>`,
and keeps the job's model and output as a local run, so job behaviour can be checked without
Docker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .. import settings
from . import data, registry, runs, sources, tracking
from .errors import ProjectError

# What a job installs beyond the image's torch (a tracking server's client, not a local store).
TRACKING_REQUIREMENTS = {"mlflow": ["mlflow-skinny>=2.16"], "wandb": ["wandb>=0.19"]}
TRAINING_REQUIREMENTS = ("rich>=13", *TRACKING_REQUIREMENTS.get(settings.TRACKING, []))


class JobError(ProjectError):
    """A staging folder that cannot be written, or a local job that failed."""


def stage(model: str, dest: Path) -> Path:
    """Write the training job source_dir of `model` into `dest` (new or empty)."""
    if dest.exists() and any(dest.iterdir()):
        raise JobError(f"{dest} is not empty: choose a new folder to stage into")
    for name, path in sources.package_files(model).items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest / name)
    (dest / "train.py").write_text(entry_point(model))
    header = "Installed by SageMaker's training toolkit before train.py runs; the image has torch."
    (dest / "requirements.txt").write_text(sources.requirements(model, header, TRAINING_REQUIREMENTS))
    return dest


def entry_point(model: str) -> str:
    """The source of the job's `train.py`."""
    module = f"{registry.PACKAGE}.models.{model}.train"
    return (
        f'"""Training job entry point of model {model!r} (written by `train --stage`)."""\n\n'
        f"from {module} import main\n\n"
        'if __name__ == "__main__":\n'
        "    main()\n"
    )


def run_local_job(model: str, data_source: Path, hyperparameters: dict[str, str]) -> Path:
    """Run `model`'s entry point as a one-host SageMaker job would; returns the new local run folder."""
    with tempfile.TemporaryDirectory(prefix="sagemaker-job-") as folder:
        ml = Path(folder) / "opt" / "ml"
        code = stage(model, ml / "code")
        channel = ml / "input" / "data" / "train"
        channel.mkdir(parents=True)
        for name, file in data.channel_files(data_source).items():
            (channel / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, channel / name)
        env = _job_environment(ml, code, hyperparameters)
        arguments = [part for key, value in hyperparameters.items() for part in (f"--{key}", value)]
        result = subprocess.run([sys.executable, "train.py", *arguments], cwd=code, env=env)
        if result.returncode != 0:
            raise JobError(f"the training job failed with exit code {result.returncode}")
        return _keep_as_run(model, ml)


def _job_environment(ml: Path, code: Path, hyperparameters: dict[str, str]) -> dict[str, str]:
    config = ml / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    hosts = {"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"}
    (config / "resourceconfig.json").write_text(json.dumps(hosts))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("SM_")}
    env |= tracking.job_environment()
    env |= {
        "SM_MODEL_DIR": str(ml / "model"),
        "SM_OUTPUT_DATA_DIR": str(ml / "output" / "data"),
        "SM_CHANNELS": json.dumps(["train"]),
        "SM_CHANNEL_TRAIN": str(ml / "input" / "data" / "train"),
        "SM_HPS": json.dumps(hyperparameters),
        "SM_NUM_GPUS": "0",
        "SM_NUM_CPUS": str(os.cpu_count() or 1),
        "SM_HOSTS": json.dumps(hosts["hosts"]),
        "SM_CURRENT_HOST": hosts["current_host"],
        "SM_MODULE_DIR": str(code),
        "SM_USER_ENTRY_POINT": "train.py",
    }
    env |= {f"SM_HP_{key.upper()}": value for key, value in hyperparameters.items()}
    for folder in ("model", "output/data"):
        (ml / folder).mkdir(parents=True, exist_ok=True)
    return env


def _keep_as_run(model: str, ml: Path) -> Path:
    run_dir = runs.new_run_dir(model)
    for folder in (ml / "model", ml / "output" / "data"):
        shutil.copytree(folder, run_dir, dirs_exist_ok=True)
    if not (run_dir / runs.WEIGHTS).is_file():
        raise JobError(f"the job saved no {runs.WEIGHTS} to SM_MODEL_DIR")
    return run_dir
