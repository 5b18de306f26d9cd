"""A training job's files in S3: its staged source and local data channels going up, its model coming back."""

from __future__ import annotations

import tarfile
import tempfile
from pathlib import Path

import botocore.exceptions

from ..catalog import runs
from ..catalog.model import Model
from ..cloud import aws
from ..loading import data
from . import staging


def upload_source(s3, config: aws.AwsConfig, model: Model, job: str) -> str:
    """Stage `model`'s source_dir, upload it as sourcedir.tar.gz; returns its S3 URI."""
    key = config.key(model.name, "training", "source", job, "sourcedir.tar.gz")
    with tempfile.TemporaryDirectory() as folder:
        source = staging.stage(model, Path(folder) / "source")
        archive = Path(folder) / "sourcedir.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for path in sorted(source.rglob("*")):
                tar.add(path, arcname=path.relative_to(source).as_posix(), recursive=False)
        _put(s3, config, archive, key)
    return f"s3://{config.bucket}/{key}"


def upload_channels(s3, config: aws.AwsConfig, model: Model, job: str, channels: dict[str, str]) -> dict[str, str]:
    """Each channel's S3 URI: one already in S3 is read in place, one on this machine is uploaded first."""
    return {
        name: source if staging.is_s3(source) else _upload_data(s3, config, model, job, name, Path(source))
        for name, source in channels.items()
    }


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


def _upload_data(s3, config: aws.AwsConfig, model: Model, job: str, channel: str, source: Path) -> str:
    prefix = config.key(model.name, "training", "data", job, channel)
    for name, file in data.channel_files(source).items():
        _put(s3, config, file, f"{prefix}/{name}")
    return f"s3://{config.bucket}/{prefix}/"


def _put(s3, config: aws.AwsConfig, path: Path, key: str) -> None:
    try:
        s3.upload_file(str(path), config.bucket, key)
    except Exception as error:  # boto3 wraps ClientError in S3UploadFailedError
        raise aws.AwsError(f"uploading {path.name} to s3://{config.bucket}/{key} failed: {error}") from error
