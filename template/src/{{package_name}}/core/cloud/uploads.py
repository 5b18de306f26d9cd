"""Bundles in the project's S3 bucket: each uploaded once, under its sha256, and the object version it was stored as.

A model.tar.gz goes to `<prefix>/<model>/bundles/<sha16>/model.tar.gz` with its sha256 in its
metadata; an uncompressed bundle (a folder) goes under `.../<sha16>/model/`, followed by a
`model.sha256` marker that says the upload is complete. Whether a key is there is asked by
listing it, which needs only `s3:ListBucket` on the project's prefix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import botocore.exceptions
from boto3.s3.transfer import TransferConfig

from . import aws

MULTIPART = TransferConfig(multipart_threshold=16 * 2**20, multipart_chunksize=16 * 2**20)
DENIED = ("403", "AccessDenied", "Forbidden")  # S3's answers to a caller without the permission


def sha256(path: Path) -> str:
    """The sha256 of a file, read a MiB at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(2**20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def folder_sha256(folder: Path) -> str:
    """The identity of an uncompressed bundle: the sha256 of its files' names and hashes."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return hashlib.sha256(
        "".join(f"{p.relative_to(folder).as_posix()}:{sha256(p)}\n" for p in files).encode()
    ).hexdigest()


def upload_bundle(
    s3, config: aws.AwsConfig, model: str, bundle: Path, progress: Callable[[int], None]
) -> tuple[str, bool]:
    """The S3 URI of `bundle` (uploaded unless an identical one is there) and whether it was uploaded."""
    digest = sha256(bundle)
    key = config.key(model, "bundles", digest[:16], "model.tar.gz")
    uri = f"s3://{config.bucket}/{key}"
    if _stored(s3, config, key) and _read(s3, config, key, "head_object").get("Metadata", {}).get("sha256") == digest:
        return uri, False
    try:
        metadata = {"Metadata": {"sha256": digest}}
        s3.upload_file(str(bundle), config.bucket, key, ExtraArgs=metadata, Config=MULTIPART, Callback=progress)
    except Exception as error:  # boto3 wraps S3's ClientError in S3UploadFailedError
        raise _bucket_error(config, error) from error
    return uri, True


def upload_folder(
    s3, config: aws.AwsConfig, model: str, folder: Path, progress: Callable[[int], None]
) -> tuple[str, bool]:
    """Upload an uncompressed bundle under an S3 prefix (once); returns the prefix URI and whether it was uploaded."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    digest = folder_sha256(folder)
    base = config.key(model, "bundles", digest[:16])
    uri, marker = f"s3://{config.bucket}/{base}/model/", f"{base}/model.sha256"
    if _stored(s3, config, marker) and _read(s3, config, marker, "get_object")["Body"].read().decode() == digest:
        return uri, False
    try:
        for path in files:
            key = f"{base}/model/{path.relative_to(folder).as_posix()}"
            s3.upload_file(str(path), config.bucket, key, Config=MULTIPART, Callback=progress)
        s3.put_object(Bucket=config.bucket, Key=marker, Body=digest.encode())  # last: marks the upload complete
    except Exception as error:  # boto3 wraps S3's ClientError in S3UploadFailedError
        raise _bucket_error(config, error) from error
    return uri, True


def _stored(s3, config: aws.AwsConfig, key: str) -> bool:
    """Whether `key` is in the bucket, asked by listing its prefix.

    A listing needs only `s3:ListBucket` on the project's prefix; asking for a missing key
    directly is answered 403, not 404, unless the caller may list the whole bucket.
    """
    try:
        listed = s3.list_objects_v2(Bucket=config.bucket, Prefix=key, MaxKeys=1)
    except botocore.exceptions.ClientError as error:
        raise _bucket_error(config, error, f"s3:ListBucket on s3://{config.bucket}/{key}") from error
    return any(item["Key"] == key for item in listed.get("Contents", []))


def _read(s3, config: aws.AwsConfig, key: str, operation: str) -> dict:
    """`head_object` or `get_object` of a key that is there."""
    try:
        return getattr(s3, operation)(Bucket=config.bucket, Key=key)
    except botocore.exceptions.ClientError as error:
        raise _bucket_error(config, error, f"s3:GetObject on s3://{config.bucket}/{key}") from error


def stored_version(s3, config: aws.AwsConfig, bundle_uri: str) -> str:
    """The S3 object version of a bundle (of its completion marker, for a folder); "" in an unversioned bucket."""
    key = _identity_key(config, bundle_uri)
    version = _read(s3, config, key, "head_object").get("VersionId") or ""
    return "" if version == "null" else version


def _identity_key(config: aws.AwsConfig, bundle_uri: str) -> str:
    """The key whose object version identifies a bundle: model.tar.gz, or a folder's `model.sha256` marker."""
    key = bundle_uri[len(f"s3://{config.bucket}/") :]
    return key.removesuffix("model/") + "model.sha256" if key.endswith("/") else key


def _bucket_error(config: aws.AwsConfig, error: Exception, needs: str = "") -> aws.AwsError:
    message = aws.explain(error) if isinstance(error, botocore.exceptions.ClientError) else str(error)
    if "NoSuchBucket" in message or "404" in message:
        return aws.AwsError(
            f"bucket '{config.bucket}' does not exist: deploy infra/project.yaml or set ARTIFACTS_BUCKET"
        )
    if needs and any(code in message for code in DENIED):
        return aws.AwsError(
            f"S3 refused ({message.split(':')[0]}): the role needs {needs} and s3:ListBucket on the bucket"
        )
    return aws.AwsError(f"S3: {message}")
