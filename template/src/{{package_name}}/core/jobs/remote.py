"""SageMaker training jobs, driven with boto3: launched from a model's `remote` config, then followed.

`launch_training` creates a script-mode job on the AWS PyTorch training image
(core/cloud/images.py; a GPU image for GPU instance types): it uploads the staged source_dir, and
each data channel (`train`, `validation`, `test` from the `data` config) that is on this machine;
a channel already in S3 is read in place (core/jobs/job_files.py). The image's training toolkit
downloads `sagemaker_submit_directory`, installs its requirements.txt and runs
`python train.py --<hp> <value>` with the SM_* environment, under torchrun on every instance
when the job is a `torch_distributed` one (several instances, or GPUs; see core/jobs/staging.py,
and core/jobs/emulator.py, which reproduces all of that locally). `job_files.fetch_model` turns a
finished job's model.tar.gz into a local run that `bundle` and `deploy` take.
"""

from __future__ import annotations

import json
import time

import botocore.exceptions

from ..basics.config import RemoteConfig, RunConfig, validate
from ..basics.errors import ConfigError
from ..catalog.model import find
from ..cloud import aws, images
from ..trainer import tracking
from . import job_files, staging


def launch_training(
    model: str, run_config: RunConfig, hyperparameters: dict[str, str], endpoint_url: str | None
) -> str:
    """Create a training job for `model` as its `remote` config says; returns the job's name.

    `hyperparameters` are the job's config overrides (`{"trainer.max_epochs": "5"}`).
    """
    remote, found = run_config.remote, find(model)
    validate(run_config)  # instance count, input mode...: as when the config was loaded
    check(remote)
    config = aws.load(endpoint_url)
    image = images.training_image(remote, config.region)  # before any upload: it fails without the SDK
    s3, sagemaker = aws.client(config, "s3"), aws.client(config, "sagemaker")
    job = config.resource_name(found.name, time.strftime("%Y%m%d-%H%M%S", time.gmtime()))[:63]
    source_uri = job_files.upload_source(s3, config, found, job)
    inputs = job_files.upload_channels(s3, config, found, job, staging.channels(run_config.data))
    base = f"s3://{config.bucket}/{config.key(found.name, 'training')}"
    try:
        sagemaker.create_training_job(
            TrainingJobName=job,
            RoleArn=config.role_arn,
            AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": remote.input_mode},
            HyperParameters=_script_mode(hyperparameters, source_uri, config.region, remote),
            InputDataConfig=[_channel(name, uri) for name, uri in inputs.items()],
            OutputDataConfig={"S3OutputPath": f"{base}/output"},
            CheckpointConfig={"S3Uri": f"{base}/checkpoints/{job}", "LocalPath": "/opt/ml/checkpoints"},
            ResourceConfig=_resources(remote),
            StoppingCondition=_stopping(remote),
            EnableManagedSpotTraining=remote.spot,
            Environment=tracking.job_environment(),
        )
    except botocore.exceptions.ClientError as error:
        raise aws.AwsError(f"training job {job} was not created: {aws.explain(error)}") from error
    return job


def check(remote: RemoteConfig) -> None:
    """Refuse what SageMaker would refuse of a `remote` config beyond `config.validate`, before any upload."""
    for key in ("volume_size_gb", "max_runtime_seconds"):
        if getattr(remote, key) < 1:
            raise ConfigError(f"remote.{key} must be at least 1, got {getattr(remote, key)}")
    if remote.spot and max_wait_seconds(remote) < remote.max_runtime_seconds:
        raise ConfigError(
            f"remote.max_wait_seconds ({remote.max_wait_seconds}) is less than remote.max_runtime_seconds "
            f"({remote.max_runtime_seconds}): a spot job waits for capacity within it"
        )


def max_wait_seconds(remote: RemoteConfig) -> int:
    """How long a spot job may take, waiting for capacity included (default: twice its runtime)."""
    return remote.max_wait_seconds or 2 * remote.max_runtime_seconds


def describe_training(job: str, endpoint_url: str | None) -> dict:
    """SageMaker's description of training job `job`."""
    config = aws.load(endpoint_url)
    try:
        return aws.client(config, "sagemaker").describe_training_job(TrainingJobName=job)
    except botocore.exceptions.ClientError as error:
        raise aws.AwsError(f"training job {job}: {aws.explain(error)}") from error


def wait_for_training(job: str, endpoint_url: str | None) -> dict:
    """Wait until `job` ends; fail unless it completed."""
    config = aws.load(endpoint_url)
    sagemaker = aws.client(config, "sagemaker")
    try:
        sagemaker.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=job)
    except botocore.exceptions.WaiterError as error:
        raise aws.AwsError(f"training job {job} failed: {error}") from error
    return sagemaker.describe_training_job(TrainingJobName=job)


def _resources(remote: RemoteConfig) -> dict:
    """The job's instances: how many, of which type, with how much storage."""
    return {
        "InstanceType": remote.instance_type,
        "InstanceCount": remote.instance_count,
        "VolumeSizeInGB": remote.volume_size_gb,
    }


def _stopping(remote: RemoteConfig) -> dict:
    """How long the job may run, and a spot job wait for capacity too."""
    stopping = {"MaxRuntimeInSeconds": remote.max_runtime_seconds}
    if remote.spot:
        stopping["MaxWaitTimeInSeconds"] = max_wait_seconds(remote)
    return stopping


def _script_mode(hyperparameters: dict[str, str], source_uri: str, region: str, remote: RemoteConfig) -> dict[str, str]:
    """Hyperparameters as the training toolkit reads them: JSON values, plus where the code is and how it runs."""
    toolkit = {"sagemaker_program": "train.py", "sagemaker_submit_directory": source_uri, "sagemaker_region": region}
    toolkit |= staging.framework_parameters(remote)  # torch_distributed, as the PyTorch estimator sets it
    return {key: json.dumps(value) for key, value in {**hyperparameters, **toolkit}.items()}


def _channel(name: str, uri: str) -> dict:
    """An input channel: every object under `uri` (a prefix, or one object's key), copied to every instance."""
    source = {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
    return {"ChannelName": name, "DataSource": {"S3DataSource": source}}
