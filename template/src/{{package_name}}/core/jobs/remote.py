"""SageMaker training jobs and endpoints, driven with boto3.

`launch_training` creates a script-mode job from the model's `remote` config on the AWS PyTorch
training image (core/cloud/images.py; a GPU image for GPU instance types): it uploads the staged
source_dir, and each data channel (`train`, `validation`, `test` from the `data` config) that
is on this machine; a channel already in S3 is read in place. The image's training toolkit
downloads `sagemaker_submit_directory`, installs its requirements.txt and runs
`python train.py --<hp> <value>` with the SM_* environment, under torchrun on every instance
when the job is a `torch_distributed` one (several instances, or GPUs; see core/jobs/staging.py,
which reproduces all of that locally). `fetch_model` turns a finished job's model.tar.gz into a
local run that `bundle` and `deploy` take. `invoke` calls a deployed endpoint.
"""

from __future__ import annotations

import json
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

import botocore.exceptions

from ..basics.config import ConfigError, RemoteConfig, RunConfig, validate
from ..catalog import runs
from ..cloud import aws, images
from ..loading import data
from ..trainer import tracking
from . import staging


def launch_training(
    model: str, run_config: RunConfig, hyperparameters: dict[str, str], endpoint_url: str | None
) -> str:
    """Create a training job for `model` as its `remote` config says; returns the job's name.

    `hyperparameters` are the job's config overrides (`{"trainer.max_epochs": "5"}`).
    """
    remote = run_config.remote
    validate(run_config)  # instance count, input mode...: as when the config was loaded
    check(remote)
    config = aws.load(endpoint_url)
    image = images.training_image(remote, config.region)  # before any upload: it fails without the SDK
    s3, sagemaker = aws.client(config, "s3"), aws.client(config, "sagemaker")
    job = config.resource_name(model, time.strftime("%Y%m%d-%H%M%S", time.gmtime()))[:63]
    source_uri = _upload_source(s3, config, model, job)
    inputs = {
        name: source if staging.is_s3(source) else _upload_data(s3, config, model, job, name, Path(source))
        for name, source in staging.channels(run_config.data).items()
    }
    base = f"s3://{config.bucket}/{config.key(model, 'training')}"
    stopping = {"MaxRuntimeInSeconds": remote.max_runtime_seconds}
    if remote.spot:
        stopping["MaxWaitTimeInSeconds"] = max_wait_seconds(remote)
    try:
        sagemaker.create_training_job(
            TrainingJobName=job,
            RoleArn=config.role_arn,
            AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": remote.input_mode},
            HyperParameters=_script_mode(hyperparameters, source_uri, config.region, remote),
            InputDataConfig=[_channel(name, uri) for name, uri in inputs.items()],
            OutputDataConfig={"S3OutputPath": f"{base}/output"},
            CheckpointConfig={"S3Uri": f"{base}/checkpoints/{job}", "LocalPath": "/opt/ml/checkpoints"},
            ResourceConfig={
                "InstanceType": remote.instance_type,
                "InstanceCount": remote.instance_count,
                "VolumeSizeInGB": remote.volume_size_gb,
            },
            StoppingCondition=stopping,
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


ASYNC_TIMEOUT_SECONDS = 900.0  # how long `invoke` waits for an async answer (SageMaker's default invocation timeout)


def invoke(
    endpoint: str,
    body: bytes,
    content_type: str,
    accept: str,
    endpoint_url: str | None,
    endpoint_type: str = "realtime",
    model: str | None = None,
    timeout: float = ASYNC_TIMEOUT_SECONDS,
) -> tuple[bytes, str]:
    """Call a deployed endpoint; returns the answer and its content type.

    An `async` endpoint (`endpoint_type`, from the model's deploy config) reads the request from
    S3 under `<prefix>/<model>/async/input/` and writes its answer to S3: this waits up to
    `timeout` seconds for it. Real-time and serverless endpoints answer the call itself.
    """
    config = aws.load(endpoint_url)
    runtime = aws.client(config, "sagemaker-runtime")
    try:
        if endpoint_type == "async":
            return _invoke_async(config, runtime, endpoint, model, body, content_type, accept, timeout)
        answer = runtime.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType=content_type, Accept=accept)
    except botocore.exceptions.ClientError as error:
        raise aws.AwsError(f"endpoint {endpoint}: {aws.explain(error)}") from error
    return answer["Body"].read(), answer.get("ContentType", accept)


def _invoke_async(config, runtime, endpoint, model, body, content_type, accept, timeout) -> tuple[bytes, str]:
    """Put the request in S3, queue it, and wait for its answer (or failure) to appear in S3."""
    if not model:
        raise aws.AwsError(f"endpoint {endpoint} is async: name the model, whose S3 folder takes the request")
    s3 = aws.client(config, "s3")
    key = config.key(model, "async", "input", uuid.uuid4().hex)
    s3.put_object(Bucket=config.bucket, Key=key, Body=body, ContentType=content_type)
    queued = runtime.invoke_endpoint_async(
        EndpointName=endpoint, InputLocation=f"s3://{config.bucket}/{key}", ContentType=content_type, Accept=accept
    )
    places = {"answer": queued["OutputLocation"], "failure": queued.get("FailureLocation")}
    deadline, pause = time.monotonic() + timeout, 0.2
    while True:
        for outcome, uri in places.items():
            found = _s3_object(s3, uri) if uri else None
            if found and outcome == "failure":
                raise aws.AwsError(f"endpoint {endpoint} failed on the request: {found['Body'].read().decode()[:500]}")
            if found:
                return found["Body"].read(), found.get("ContentType") or accept
        if time.monotonic() >= deadline:
            raise aws.AwsError(f"endpoint {endpoint}: no answer at {places['answer']} after {timeout:.0f} s")
        time.sleep(pause)
        pause = min(pause * 1.5, 10.0)


def _s3_object(s3, uri: str) -> dict | None:
    """GetObject's answer for an `s3://` URI, or None while the object is not there.

    Whether it is there is asked by listing its key as a prefix: a role allowed to list only the
    project's prefix is answered 403, not 404, when it reads a key that does not exist yet.
    """
    bucket, key = uri[5:].split("/", 1)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("Contents", [])
    if not any(item["Key"] == key for item in listed):
        return None
    return s3.get_object(Bucket=bucket, Key=key)


def _script_mode(hyperparameters: dict[str, str], source_uri: str, region: str, remote: RemoteConfig) -> dict[str, str]:
    """Hyperparameters as the training toolkit reads them: JSON values, plus where the code is and how it runs."""
    toolkit = {"sagemaker_program": "train.py", "sagemaker_submit_directory": source_uri, "sagemaker_region": region}
    toolkit |= staging.framework_parameters(remote)  # torch_distributed, as the PyTorch estimator sets it
    return {key: json.dumps(value) for key, value in {**hyperparameters, **toolkit}.items()}


def _channel(name: str, uri: str) -> dict:
    """An input channel: every object under `uri` (a prefix, or one object's key), copied to every instance."""
    source = {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
    return {"ChannelName": name, "DataSource": {"S3DataSource": source}}


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


def _upload_data(s3, config: aws.AwsConfig, model: str, job: str, channel: str, source: Path) -> str:
    prefix = config.key(model, "training", "data", job, channel)
    for name, file in data.channel_files(source).items():
        _put(s3, config, file, f"{prefix}/{name}")
    return f"s3://{config.bucket}/{prefix}/"


def _put(s3, config: aws.AwsConfig, path: Path, key: str) -> None:
    try:
        s3.upload_file(str(path), config.bucket, key)
    except Exception as error:  # boto3 wraps ClientError in S3UploadFailedError
        raise aws.AwsError(f"uploading {path.name} to s3://{config.bucket}/{key} failed: {error}") from error
