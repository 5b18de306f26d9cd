"""Data sets made by a build script, built on this machine into a folder or an `s3://` prefix.

Data set NAME is built by `data/NAME/build.py` in the project, or by `build_data.py` in the
folder of model NAME. Either is a plain script, run as `python <script> --out <folder>`, that
writes the data set's files (shards of CSV or Parquet, images...) into `<folder>`, empty when it
starts. Its files are then fingerprinted (core/basics/fingerprint.py) and `.fingerprint.json` is written
beside them: fingerprint, file count, bytes, build time, data set, script and git commit.

`build` runs the script here, in the project's environment and folder, into `data/built/NAME/`
(or a folder or an `s3://` prefix of your choosing); core/jobs/processing.py runs it as a
SageMaker Processing job instead. An output that already holds files is never written to.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import botocore.exceptions

from ..basics import config, project
from ..catalog import registry
from ..cloud import aws
from ..trainer import tracking
from . import builds
from .builds import DatasetError

DATA_DIR = Path("data")  # data/<name>/build.py, relative to the project folder
BUILT_DIR = DATA_DIR / "built"  # where local builds go by default
SCRIPT = "build.py"
MODEL_SCRIPT = "build_data.py"
SETTINGS = "config.yaml"  # data/<name>/config.yaml: the `remote` section of a Processing job
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


def script(name: str) -> Path:
    """The build script of data set `name`: data/<name>/build.py, or build_data.py of model <name>."""
    if not _NAME.match(name):
        raise DatasetError(f"'{name}' is not a data set name (letters, digits, '_', '-' and '.')")
    candidates = [DATA_DIR / name / SCRIPT, _model_folder(name) / MODEL_SCRIPT]
    found = [path for path in candidates if path.is_file()]
    first, second = (shown(path) for path in (found if len(found) > 1 else candidates))
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
    details = {"data_set": name, "script": shown(path), **tracking.source_version()}
    if target.startswith("s3://"):
        s3 = s3_client(endpoint_url)
        refuse_s3_output(s3, target)
        with tempfile.TemporaryDirectory(prefix=f"data-{name}-") as folder:
            manifest = builds.run(path, Path(folder) / "out", details)
            upload_folder(s3, Path(folder) / "out", target)
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


def s3_client(endpoint_url: str | None = None):
    """An S3 client for any bucket (the project's settings need not be set): AWS's, or `endpoint_url`'s."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or project.settings().AWS_REGION
    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    return aws.client(aws.AwsConfig(region=region, bucket="", role_arn="", prefix="", endpoint_url=endpoint), "s3")


def _model_folder(name: str) -> Path:
    """Where model `name`'s folder is, or would be (for the message listing where a script was looked for)."""
    try:
        return registry.folder(name)
    except registry.UnknownModelError:
        return Path(project.models().__file__).parent / name


def shown(path: Path) -> str:
    """`path` relative to the project folder when it is in it."""
    resolved, here = path.resolve(), Path.cwd().resolve()
    return resolved.relative_to(here).as_posix() if resolved.is_relative_to(here) else resolved.as_posix()


def refuse_s3_output(s3, uri: str) -> None:
    """Refuse to build into an S3 prefix that already holds files."""
    bucket, _, key = uri[len("s3://") :].partition("/")
    prefix = key.rstrip("/") + "/" if key.strip("/") else ""
    try:
        found = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount", 0)
    except botocore.exceptions.ClientError as error:
        raise aws.AwsError(f"cannot list {uri}: {aws.explain(error)}") from error
    if found:
        raise DatasetError(f"{uri} is not empty: build into another prefix with --out")


def upload_folder(s3, folder: Path, uri: str) -> None:
    """Every file under `folder` (hidden ones too: the manifest) to the prefix `uri`."""
    bucket, _, key = uri[len("s3://") :].partition("/")
    prefix = key.rstrip("/") + "/" if key.strip("/") else ""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        target = prefix + path.relative_to(folder).as_posix()
        try:
            s3.upload_file(str(path), bucket, target)
        except Exception as error:  # boto3 wraps ClientError in S3UploadFailedError
            raise aws.AwsError(f"uploading {path.name} to s3://{bucket}/{target} failed: {error}") from error
