"""A data set built by a SageMaker Processing job into S3 (`data build --remote`): staged, launched, waited for.

The job runs on the AWS PyTorch image the training jobs use (core/cloud/images.py): the script's
folder (`data/NAME/`, or only `build_data.py` of a model) arrives in /opt/ml/processing/input/code,
a requirements.txt there is installed first, and /opt/ml/processing/output is uploaded to S3
(default `s3://<bucket>/<prefix>/NAME/data/built/<job>/`). The job's instance is the `remote`
section of `data/NAME/config.yaml` when there is one (else RemoteConfig's defaults) plus overrides.
"""

from __future__ import annotations

import json
import re
import secrets
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import botocore.exceptions

from ..basics import config, fingerprint
from ..cloud import aws, images
from ..trainer import tracking
from . import data_staging, datasets
from .builds import DatasetError
from .datasets import Built

CODE_DIR = "/opt/ml/processing/input/code"
OUTPUT_DIR = "/opt/ml/processing/output"
MAX_PROCESSING_SECONDS = 9 * 24 * 3600  # SageMaker's limit for a Processing job
POLL_SECONDS = 15  # how often `wait` asks how a job is doing


@dataclass(frozen=True)
class ProcessingJob:
    """A Processing job building a data set, and the S3 prefix its files go to."""

    name: str
    output: str


def processing_request(
    job: str, code_uri: str, output_uri: str, remote: config.RemoteConfig, aws_config: aws.AwsConfig, provenance: dict
) -> dict:
    """The CreateProcessingJob request of `job`: run the code at `code_uri`, upload what it writes to `output_uri`.

    `provenance` (`tracking.source_version()`) names the launching commit in the job's environment.
    """
    if remote.instance_count != 1:
        raise DatasetError(f"a data set is built on one instance, not remote.instance_count={remote.instance_count}")
    environment = {}
    if provenance["git_commit"]:
        environment[tracking.COMMIT_VARIABLE] = provenance["git_commit"]
        environment[tracking.DIRTY_VARIABLE] = str(provenance["git_dirty"]).lower()
    return {
        "ProcessingJobName": job,
        "RoleArn": aws_config.role_arn,
        "AppSpecification": {
            "ImageUri": images.training_image(remote, aws_config.region),
            "ContainerEntrypoint": ["python", f"{CODE_DIR}/{data_staging.ENTRY}"],
            "ContainerArguments": [OUTPUT_DIR],
        },
        "ProcessingInputs": [_code_input(code_uri)],
        "ProcessingOutputConfig": {"Outputs": [_data_output(output_uri)]},
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": remote.instance_type,
                "VolumeSizeInGB": remote.volume_size_gb,
            }
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": min(remote.max_runtime_seconds, MAX_PROCESSING_SECONDS)},
        "Environment": environment,
    }


def _code_input(code_uri: str) -> dict:
    """The job's one input: the staged code under `code_uri`, in CODE_DIR."""
    source = {"S3Uri": code_uri, "LocalPath": CODE_DIR, "S3DataType": "S3Prefix", "S3InputMode": "File"}
    return {"InputName": "code", "S3Input": source | {"S3DataDistributionType": "FullyReplicated"}}


def _data_output(output_uri: str) -> dict:
    """The job's one output: OUTPUT_DIR, uploaded to `output_uri` when the job ends."""
    return {
        "OutputName": "data",
        "S3Output": {"S3Uri": output_uri, "LocalPath": OUTPUT_DIR, "S3UploadMode": "EndOfJob"},
    }


def launch(
    name: str, out: str | None = None, overrides: list[str] = (), endpoint_url: str | None = None
) -> ProcessingJob:
    """Create a Processing job that builds data set `name` into `out` (an s3:// prefix; default under the project's)."""
    datasets.script(name)
    remote = datasets.settings(name, overrides).remote
    if out is not None and not out.startswith("s3://"):
        raise DatasetError(f"--remote builds into S3: give --out s3://bucket/prefix/, not '{out}'")
    aws_config = aws.load(endpoint_url)
    s3, sagemaker = aws.client(aws_config, "s3"), aws.client(aws_config, "sagemaker")
    job = job_name(aws_config.prefix, name)
    output = out or f"s3://{aws_config.bucket}/{aws_config.key(name, 'data', 'built', job)}/"
    datasets.refuse_s3_output(s3, output)
    code_uri = f"s3://{aws_config.bucket}/{aws_config.key(name, 'data', 'source', job)}/"
    provenance = tracking.source_version()
    request = processing_request(job, code_uri, output, remote, aws_config, provenance)  # checks the settings first
    with tempfile.TemporaryDirectory(prefix=f"data-{name}-") as folder:
        datasets.upload_folder(
            s3, data_staging.stage(name, Path(folder) / "code", {"job": job, **provenance}), code_uri
        )
    try:
        sagemaker.create_processing_job(**request)
    except botocore.exceptions.ClientError as error:
        raise aws.AwsError(f"processing job {job} was not created: {aws.explain(error)}") from error
    return ProcessingJob(job, output)


def describe(job: str, endpoint_url: str | None = None) -> dict:
    """SageMaker's description of Processing job `job`."""
    aws_config = aws.load(endpoint_url)
    try:
        return aws.client(aws_config, "sagemaker").describe_processing_job(ProcessingJobName=job)
    except botocore.exceptions.ClientError as error:
        raise aws.AwsError(f"processing job {job}: {aws.explain(error)}") from error


def wait(job: str, endpoint_url: str | None = None) -> Built:
    """Wait until Processing job `job` ends; the data set it built (fail unless it completed)."""
    aws_config = aws.load(endpoint_url)
    sagemaker = aws.client(aws_config, "sagemaker")
    attempts = MAX_PROCESSING_SECONDS // POLL_SECONDS + 100
    with suppress(botocore.exceptions.WaiterError):  # a failed job: its description says why
        sagemaker.get_waiter("processing_job_completed_or_stopped").wait(
            ProcessingJobName=job, WaiterConfig={"Delay": POLL_SECONDS, "MaxAttempts": attempts}
        )
    try:
        described = sagemaker.describe_processing_job(ProcessingJobName=job)
    except botocore.exceptions.ClientError as error:
        raise aws.AwsError(f"processing job {job}: {aws.explain(error)}") from error
    if described.get("ProcessingJobStatus") != "Completed":
        reason = described.get("FailureReason") or described.get("ExitMessage") or "no reason given"
        raise DatasetError(f"processing job {job} is {described.get('ProcessingJobStatus')}: {reason}")
    output = described["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"].rstrip("/") + "/"
    bucket, prefix = output[len("s3://") :].split("/", 1)
    try:
        body = aws.client(aws_config, "s3").get_object(Bucket=bucket, Key=prefix + fingerprint.MANIFEST)["Body"]
        return Built(output, json.loads(body.read()))
    except (botocore.exceptions.ClientError, json.JSONDecodeError) as error:
        raise DatasetError(f"processing job {job} completed, but left no {fingerprint.MANIFEST} in {output}") from error


def job_name(prefix: str, name: str) -> str:
    """`<prefix>--data-<name>-<time>-<random>`, within SageMaker's 63 characters (see `aws.resource_name`)."""
    head, tail = (
        f"{prefix}{aws.SEPARATOR}data-",
        f"-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(2)}",
    )
    middle = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[: max(0, 63 - len(head) - len(tail))]
    return f"{head}{middle}{tail}"
