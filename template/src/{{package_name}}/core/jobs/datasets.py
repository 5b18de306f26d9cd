"""Data sets made by a build script: on this machine into a folder, or as a SageMaker Processing job into S3.

Data set NAME is built by `data/NAME/build.py` in the project, or by `build_data.py` in the
folder of model NAME. Either is a plain script, run as `python <script> --out <folder>`, that
writes the data set's files (shards of CSV or Parquet, images...) into `<folder>`, empty when it
starts. Its files are then fingerprinted (core/basics/fingerprint.py) and `.fingerprint.json` is written
beside them: fingerprint, file count, bytes, build time, data set, script and git commit.

`build` runs the script here, in the project's environment and folder, into `data/built/NAME/`
(or a folder or an `s3://` prefix of your choosing). `launch` runs it as a Processing job on
the AWS PyTorch image the training jobs use (core/cloud/images.py): the script's folder
(`data/NAME/`, or only `build_data.py` of a model) arrives in /opt/ml/processing/input/code, a
requirements.txt there is installed first, and /opt/ml/processing/output is uploaded to S3
(default `s3://<bucket>/<prefix>/NAME/data/built/<job>/`). The job's instance is the `remote`
section of `data/NAME/config.yaml` when there is one (else RemoteConfig's defaults) plus overrides.
An output that already holds files is never written to.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import botocore.exceptions

from ..basics import config, fingerprint, project
from ..bundling import sources
from ..catalog import registry
from ..cloud import aws, images
from ..trainer import tracking
from . import builds
from .builds import DatasetError

DATA_DIR = Path("data")  # data/<name>/build.py, relative to the project folder
BUILT_DIR = DATA_DIR / "built"  # where local builds go by default
SCRIPT = "build.py"
MODEL_SCRIPT = "build_data.py"
SETTINGS = "config.yaml"  # data/<name>/config.yaml: the `remote` section of a Processing job
ENTRY = "_build_data_set.py"  # the Processing job's entry point, written by `stage`
CODE_DIR = "/opt/ml/processing/input/code"
OUTPUT_DIR = "/opt/ml/processing/output"
# Of core, what a job ships: builds.py and what it imports (the image has none of the project's dependencies).
JOB_MODULES = (
    "__init__.py",
    "basics/__init__.py",
    "basics/errors.py",
    "basics/fingerprint.py",
    "jobs/__init__.py",
    "jobs/builds.py",
)
MAX_PROCESSING_SECONDS = 9 * 24 * 3600  # SageMaker's limit for a Processing job
POLL_SECONDS = 15  # how often `wait` asks how a job is doing
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class DatasetConfig:
    """How a data set is built remotely: the `remote` section of data/<name>/config.yaml."""

    remote: config.RemoteConfig = field(default_factory=config.RemoteConfig)


@dataclass(frozen=True)
class Built:
    """A built data set: where its files are, and its manifest (what `.fingerprint.json` holds)."""

    location: str
    manifest: dict


@dataclass(frozen=True)
class ProcessingJob:
    """A Processing job building a data set, and the S3 prefix its files go to."""

    name: str
    output: str


def script(name: str) -> Path:
    """The build script of data set `name`: data/<name>/build.py, or build_data.py of model <name>."""
    if not _NAME.match(name):
        raise DatasetError(f"'{name}' is not a data set name (letters, digits, '_', '-' and '.')")
    candidates = [DATA_DIR / name / SCRIPT, _model_folder(name) / MODEL_SCRIPT]
    found = [path for path in candidates if path.is_file()]
    first, second = (_shown(path) for path in (found if len(found) > 1 else candidates))
    if len(found) > 1:
        raise DatasetError(f"data set '{name}' has two build scripts, {first} and {second}: keep one")
    if not found:
        raise DatasetError(f"no build script for data set '{name}': looked for {first} and {second}")
    return found[0]


def settings(name: str, overrides: list[str] = ()) -> DatasetConfig:
    """The settings of data set `name`: data/<name>/config.yaml (when there is one), then `overrides`."""
    path = DATA_DIR / name / SETTINGS
    return config.load(DatasetConfig, path if path.is_file() else Path(os.devnull), overrides)


def build(name: str, out: str | Path | None = None, endpoint_url: str | None = None) -> Built:
    """Run data set `name`'s build script here into `out` (default data/built/<name>/; or an s3:// prefix)."""
    path = script(name)
    target = str(out) if out is not None else str(BUILT_DIR / name)
    details = {"data_set": name, "script": _shown(path), **tracking.source_version()}
    if target.startswith("s3://"):
        s3 = s3_client(endpoint_url)
        _refuse_s3_output(s3, target)
        with tempfile.TemporaryDirectory(prefix=f"data-{name}-") as folder:
            manifest = builds.run(path, Path(folder) / "out", details)
            _upload_folder(s3, Path(folder) / "out", target)
        return Built(target.rstrip("/") + "/", manifest)
    dest = Path(target)
    if dest.is_file() or (dest.is_dir() and any(dest.iterdir())):
        raise DatasetError(f"{dest} is not empty: remove it, or build into another folder with --out")
    existed = dest.is_dir()
    try:
        manifest = builds.run(path, dest, details)
    except BaseException:  # a failed build leaves nothing behind
        shutil.rmtree(dest, ignore_errors=True)
        if existed:
            dest.mkdir()
        raise
    return Built(str(dest), manifest)


def stage(name: str, dest: Path, details: dict | None = None) -> Path:
    """Write the code of data set `name`'s Processing job into `dest` (new or empty): the script's files, an entry.

    The entry point (`ENTRY`) takes the output folder as its one argument; `details` go into the manifest.
    """
    if dest.exists() and any(dest.iterdir()):
        raise DatasetError(f"{dest} is not empty: choose a new folder to stage into")
    path = script(name)
    files = _script_files(path)
    clashes = sorted({relative.split("/")[0] for relative in files} & {project.CORE, ENTRY})
    if clashes:
        raise DatasetError(f"{path.parent / clashes[0]} clashes with the code a Processing job adds: rename it")
    package = sources.PACKAGE_DIR  # only what builds.py imports: the image has none of the project's dependencies
    files[f"{project.CORE}/__init__.py"] = package / "__init__.py"
    files |= {f"{project.CORE}/core/{module}": package / "core" / module for module in JOB_MODULES}
    for relative, file in files.items():
        (dest / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, dest / relative)
    (dest / ENTRY).write_text(entry_point(path.name, {"data_set": name, "script": _shown(path), **(details or {})}))
    return dest


def entry_point(script_name: str, details: dict) -> str:
    """The source of a Processing job's entry point: `builds.job_main` on the script beside it."""
    data_set = details.get("data_set")
    return (
        f'"""Processing job entry point of data set {data_set!r} (written by `data build --remote`)."""\n\n'
        "from pathlib import Path\n\n"
        f"from {project.CORE}.core.jobs.builds import job_main\n\n"
        'if __name__ == "__main__":\n'
        f"    job_main(Path(__file__).with_name({script_name!r}), {details!r})\n"
    )


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
            "ContainerEntrypoint": ["python", f"{CODE_DIR}/{ENTRY}"],
            "ContainerArguments": [OUTPUT_DIR],
        },
        "ProcessingInputs": [
            {
                "InputName": "code",
                "S3Input": {
                    "S3Uri": code_uri,
                    "LocalPath": CODE_DIR,
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                    "S3DataDistributionType": "FullyReplicated",
                },
            }
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "data",
                    "S3Output": {"S3Uri": output_uri, "LocalPath": OUTPUT_DIR, "S3UploadMode": "EndOfJob"},
                }
            ]
        },
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


def launch(
    name: str, out: str | None = None, overrides: list[str] = (), endpoint_url: str | None = None
) -> ProcessingJob:
    """Create a Processing job that builds data set `name` into `out` (an s3:// prefix; default under the project's)."""
    script(name)
    remote = settings(name, overrides).remote
    if out is not None and not out.startswith("s3://"):
        raise DatasetError(f"--remote builds into S3: give --out s3://bucket/prefix/, not '{out}'")
    aws_config = aws.load(endpoint_url)
    s3, sagemaker = aws.client(aws_config, "s3"), aws.client(aws_config, "sagemaker")
    job = job_name(aws_config.prefix, name)
    output = out or f"s3://{aws_config.bucket}/{aws_config.key(name, 'data', 'built', job)}/"
    _refuse_s3_output(s3, output)
    code_uri = f"s3://{aws_config.bucket}/{aws_config.key(name, 'data', 'source', job)}/"
    provenance = tracking.source_version()
    request = processing_request(job, code_uri, output, remote, aws_config, provenance)  # checks the settings first
    with tempfile.TemporaryDirectory(prefix=f"data-{name}-") as folder:
        _upload_folder(s3, stage(name, Path(folder) / "code", {"job": job, **provenance}), code_uri)
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


def s3_client(endpoint_url: str | None = None):
    """An S3 client for any bucket (the project's settings need not be set): AWS's, or `endpoint_url`'s."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or project.settings().AWS_REGION
    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    return aws.client(aws.AwsConfig(region=region, bucket="", role_arn="", prefix="", endpoint_url=endpoint), "s3")


def job_name(prefix: str, name: str) -> str:
    """`<prefix>--data-<name>-<time>-<random>`, within SageMaker's 63 characters (see `aws.resource_name`)."""
    head, tail = (
        f"{prefix}{aws.SEPARATOR}data-",
        f"-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(2)}",
    )
    middle = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[: max(0, 63 - len(head) - len(tail))]
    return f"{head}{middle}{tail}"


def _model_folder(name: str) -> Path:
    """Where model `name`'s folder is, or would be (for the message listing where a script was looked for)."""
    try:
        return registry.folder(name)
    except registry.UnknownModelError:
        return Path(project.models().__file__).parent / name


def _shown(path: Path) -> str:
    """`path` relative to the project folder when it is in it."""
    resolved, here = path.resolve(), Path.cwd().resolve()
    return resolved.relative_to(here).as_posix() if resolved.is_relative_to(here) else resolved.as_posix()


def _script_files(path: Path) -> dict[str, Path]:
    """What a Processing job gets of a build script: data/<name>/'s files, or only a model's build_data.py."""
    if path.name == MODEL_SCRIPT:
        return {path.name: path}
    return {
        relative: file
        for relative, file in fingerprint.files(path.parent).items()
        if "__pycache__" not in relative.split("/") and not relative.endswith((".pyc", ".pyo"))
    }


def _refuse_s3_output(s3, uri: str) -> None:
    bucket, _, key = uri[len("s3://") :].partition("/")
    prefix = key.rstrip("/") + "/" if key.strip("/") else ""
    try:
        found = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount", 0)
    except botocore.exceptions.ClientError as error:
        raise aws.AwsError(f"cannot list {uri}: {aws.explain(error)}") from error
    if found:
        raise DatasetError(f"{uri} is not empty: build into another prefix with --out")


def _upload_folder(s3, folder: Path, uri: str) -> None:
    """Every file under `folder` (hidden ones too: the manifest) to the prefix `uri`."""
    bucket, _, key = uri[len("s3://") :].partition("/")
    prefix = key.rstrip("/") + "/" if key.strip("/") else ""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        target = prefix + path.relative_to(folder).as_posix()
        try:
            s3.upload_file(str(path), bucket, target)
        except Exception as error:  # boto3 wraps ClientError in S3UploadFailedError
            raise aws.AwsError(f"uploading {path.name} to s3://{bucket}/{target} failed: {error}") from error
