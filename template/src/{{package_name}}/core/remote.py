"""SageMaker training jobs and endpoints, driven with boto3.

`launch_training` uploads the staged source_dir and the data, then creates a script-mode job
on the AWS PyTorch training image: the image's training toolkit downloads
`sagemaker_submit_directory`, installs its requirements.txt and runs
`python train.py --<hp> <value>` with the SM_* environment (see core/staging.py, which
reproduces that locally). `fetch_model` turns a finished job's model.tar.gz into a local run
that `bundle` and `deploy` take. `invoke` calls a deployed endpoint.
"""

from __future__ import annotations

import json
import tarfile
import tempfile
import time
from pathlib import Path

import botocore.exceptions

from . import aws, data, runs, staging, tracking

TRAINING_IMAGE = "{account}.dkr.ecr.{region}.amazonaws.com/pytorch-training:2.6.0-cpu-py312"
IMAGE_ACCOUNTS = {
    "ap-east-1": "871362719292",
    "me-south-1": "217643126080",
    "af-south-1": "626614931356",
    "eu-south-1": "692866216735",
    "us-gov-west-1": "442386744353",
}


def training_image(region: str) -> str:
    """The AWS PyTorch training image (CPU) of `region`."""
    uri = TRAINING_IMAGE.format(account=IMAGE_ACCOUNTS.get(region, "763104351884"), region=region)
    return uri.replace(".amazonaws.com/", ".amazonaws.com.cn/") if region.startswith("cn-") else uri


def launch_training(
    model: str, data_source: Path, hyperparameters: dict[str, str], instance_type: str, endpoint_url: str | None
) -> str:
    """Create a training job for `model`; returns its name."""
    config = aws.load(endpoint_url)
    s3, sagemaker = aws.client(config, "s3"), aws.client(config, "sagemaker")
    job = f"{config.prefix}-{model.replace('_', '-')}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"[:63]
    source_uri = _upload_source(s3, config, model, job)
    data_uri = _upload_data(s3, config, model, job, data_source)
    base = f"s3://{config.bucket}/{config.key(model, 'training')}"
    try:
        sagemaker.create_training_job(
            TrainingJobName=job,
            RoleArn=config.role_arn,
            AlgorithmSpecification={"TrainingImage": training_image(config.region), "TrainingInputMode": "File"},
            HyperParameters=_script_mode(hyperparameters, source_uri, config.region),
            InputDataConfig=[
                {
                    "ChannelName": "train",
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": data_uri}},
                }
            ],
            OutputDataConfig={"S3OutputPath": f"{base}/output"},
            CheckpointConfig={"S3Uri": f"{base}/checkpoints/{job}", "LocalPath": "/opt/ml/checkpoints"},
            ResourceConfig={"InstanceType": instance_type, "InstanceCount": 1, "VolumeSizeInGB": 30},
            StoppingCondition={"MaxRuntimeInSeconds": 24 * 3600},
            Environment=tracking.job_environment(),
        )
    except botocore.exceptions.ClientError as error:
        raise aws.AwsError(f"training job {job} was not created: {aws.explain(error)}") from error
    return job


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


def fetch_model(model: str, job: dict, endpoint_url: str | None) -> Path:
    """Download a completed job's model.tar.gz and keep it as a local run of `model`."""
    config = aws.load(endpoint_url)
    uri = job.get("ModelArtifacts", {}).get("S3ModelArtifacts", "")
    if job.get("TrainingJobStatus") != "Completed" or not uri.startswith("s3://"):
        raise aws.AwsError(
            f"training job {job.get('TrainingJobName')} has no model yet ({job.get('TrainingJobStatus')})"
        )
    bucket, key = uri[5:].split("/", 1)
    run_dir = runs.new_run_dir(model)
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "model.tar.gz"
        try:
            aws.client(config, "s3").download_file(bucket, key, str(archive))
        except botocore.exceptions.ClientError as error:
            run_dir.rmdir()
            raise aws.AwsError(f"downloading {uri} failed: {aws.explain(error)}") from error
        with tarfile.open(archive) as tar:
            tar.extractall(run_dir, filter="data")
    return run_dir


def invoke(endpoint: str, body: bytes, content_type: str, accept: str, endpoint_url: str | None) -> tuple[bytes, str]:
    """Call a deployed endpoint; returns the answer and its content type."""
    config = aws.load(endpoint_url)
    try:
        answer = aws.client(config, "sagemaker-runtime").invoke_endpoint(
            EndpointName=endpoint, Body=body, ContentType=content_type, Accept=accept
        )
    except botocore.exceptions.ClientError as error:
        raise aws.AwsError(f"endpoint {endpoint}: {aws.explain(error)}") from error
    return answer["Body"].read(), answer.get("ContentType", accept)


def _script_mode(hyperparameters: dict[str, str], source_uri: str, region: str) -> dict[str, str]:
    """Hyperparameters as the training toolkit reads them: JSON values, plus where the code is."""
    toolkit = {"sagemaker_program": "train.py", "sagemaker_submit_directory": source_uri, "sagemaker_region": region}
    return {key: json.dumps(value) for key, value in {**hyperparameters, **toolkit}.items()}


def _upload_source(s3, config: aws.AwsConfig, model: str, job: str) -> str:
    key = config.key(model, "training", "source", job, "sourcedir.tar.gz")
    with tempfile.TemporaryDirectory() as folder:
        source = staging.stage(model, Path(folder) / "source")
        archive = Path(folder) / "sourcedir.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for path in sorted(source.rglob("*")):
                tar.add(path, arcname=path.relative_to(source).as_posix(), recursive=False)
        _put(s3, config, archive, key)
    return f"s3://{config.bucket}/{key}"


def _upload_data(s3, config: aws.AwsConfig, model: str, job: str, source: Path) -> str:
    prefix = config.key(model, "training", "data", job)
    for name, file in data.channel_files(source).items():
        _put(s3, config, file, f"{prefix}/{name}")
    return f"s3://{config.bucket}/{prefix}/"


def _put(s3, config: aws.AwsConfig, path: Path, key: str) -> None:
    try:
        s3.upload_file(str(path), config.bucket, key)
    except Exception as error:  # boto3 wraps ClientError in S3UploadFailedError
        raise aws.AwsError(f"uploading {path.name} to s3://{config.bucket}/{key} failed: {error}") from error
