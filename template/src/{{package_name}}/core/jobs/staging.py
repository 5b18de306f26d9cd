"""The source_dir of a SageMaker training job, and the facts about a job's shape its launchers share.

`stage` writes what a job receives: `train.py` (the entry point, which runs the model's own
`train.main`), `requirements.txt` and the package with `core` and this model. A job reads the
data channels `channels` lists, and runs its entry point under torchrun when it is a
`torch_distributed` one (several instances, or GPUs). Launched in SageMaker by core/jobs/remote.py,
or on this machine by core/jobs/emulator.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..basics import config, project
from ..basics.errors import ProjectError
from ..bundling import scripts, sources
from ..catalog.model import Model, find
from ..cloud import images

# What a job installs beyond the image's torch (a tracking server's client, not a local store).
TRACKING_REQUIREMENTS = {"mlflow": ["mlflow-skinny>=2.16"], "wandb": ["wandb>=0.19"]}
TRAINING_REQUIREMENTS = ("rich>=13", "pyarrow>=15")


class JobError(ProjectError):
    """A staging folder that cannot be written, or a local job that failed."""


def stage(model: str | Model, dest: Path) -> Path:
    """Write the training job source_dir of `model` (a name, or a model already found) into `dest` (new or empty)."""
    model = find(model) if isinstance(model, str) else model
    if dest.exists() and any(dest.iterdir()):
        raise JobError(f"{dest} is not empty: choose a new folder to stage into")
    for name, path in sources.package_files(model).items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest / name)
    (dest / "train.py").write_text(entry_point(model))
    header = "Installed by SageMaker's training toolkit before train.py runs; the image has torch."
    (dest / "requirements.txt").write_text(sources.requirements(model, header, training_requirements()))
    return dest


def training_requirements() -> tuple[str, ...]:
    """What a job installs beyond the image's torch and core's needs: training's, and the tracker's client."""
    return (*TRAINING_REQUIREMENTS, *TRACKING_REQUIREMENTS.get(project.settings().TRACKING, []))


def entry_point(model: Model) -> str:
    """The source of the job's `train.py` (core/bundling/script_templates/train.py)."""
    return scripts.render("train.py", MODEL=model.name, PACKAGE=project.package())


def channels(data_config: config.DataConfig) -> dict[str, str]:
    """A job's input channels, name -> source (a local file or folder, or an `s3://` URI); unset ones are left out.

    `data.path` is the `train` channel, `data.validation` and `data.test` the `validation` and `test` ones.
    """
    return config.channel_sources(data_config)


def is_s3(source: str) -> bool:
    """Whether a channel's source is in S3 (a job reads it in place) rather than on this machine."""
    return str(source).startswith("s3://")


def torch_distributed(remote: config.RemoteConfig) -> bool:
    """Whether the job runs its entry point under torchrun: SageMaker's `torch_distributed` distribution.

    So it does on several instances, and on GPU instances, where the training toolkit starts one
    process per GPU (on a one-GPU instance that is a single process, just as without torchrun).
    """
    return remote.instance_count > 1 or images.is_gpu(remote.instance_type)


def framework_parameters(remote: config.RemoteConfig) -> dict[str, object]:
    """The job's `sagemaker_*` distribution hyperparameters, as the SageMaker PyTorch estimator writes them."""
    if not torch_distributed(remote):
        return {}
    return {"sagemaker_torch_distributed_enabled": True, "sagemaker_instance_type": remote.instance_type}
