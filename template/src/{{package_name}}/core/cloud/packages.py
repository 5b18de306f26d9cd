"""The model registry: each model's promoted bundles, as versions of a SageMaker model package group.

A model's group is `<prefix>--<model>`. A version records the bundle's S3 URI and sha256, the
serving image, the metrics its gate judged and the commit it came from; it starts
`PendingManualApproval` and becomes `Approved` when someone approves it for prod. Versions are
numbered by SageMaker (1, 2, ...) and never change their bundle, so deploying version N
anywhere deploys the same bytes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import botocore.exceptions

from . import aws

APPROVED, PENDING, REJECTED = "Approved", "PendingManualApproval", "Rejected"
METRIC = "metric:"  # prefix of the metadata keys holding the gate's metrics
MAX_METADATA = 50  # keys SageMaker keeps per model package
SERVING_ENVIRONMENT = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}


class RegistryError(aws.AwsError):
    """A model package group or version that is missing, or a registry call that failed."""


@dataclass(frozen=True)
class Bundle:
    """A bundle in S3, ready to register."""

    uri: str
    sha256: str
    image: str
    compression: str = "gzip"  # or "none": an uncompressed bundle under an S3 prefix
    metrics: dict[str, float] = field(default_factory=dict)
    metrics_uri: str | None = None  # the metrics as a JSON object in S3, attached as model quality statistics
    commit: str = ""
    s3_version: str = ""  # the S3 object version uploaded (of the marker, for a folder); "" when unversioned
    accepts: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Version:
    """One registered version of a model."""

    number: int
    arn: str
    status: str
    bundle_uri: str
    sha256: str
    image: str
    compression: str
    metrics: dict[str, float]
    commit: str
    created: str
    s3_version: str = ""


def ensure_group(sagemaker, group: str, model: str) -> None:
    """Create the model package group `group` unless it exists."""
    try:
        sagemaker.describe_model_package_group(ModelPackageGroupName=group)
        return
    except botocore.exceptions.ClientError as error:
        if not _missing(error):
            raise RegistryError(f"model registry: {aws.explain(error)}") from error
    description = f"Promoted bundles of model '{model}'"
    _call(sagemaker.create_model_package_group, ModelPackageGroupName=group, ModelPackageGroupDescription=description)


def register(sagemaker, group: str, bundle: Bundle) -> Version:
    """Register `bundle` as a new version of `group`, pending approval; an already registered bundle is not repeated."""
    for known in versions(sagemaker, group):
        if known.sha256 == bundle.sha256:
            return known
    container: dict = {"Image": bundle.image, "Environment": SERVING_ENVIRONMENT}
    if bundle.compression == "none":  # an S3 prefix, loaded without unpacking
        source = {"S3Uri": bundle.uri, "S3DataType": "S3Prefix", "CompressionType": "None"}
        container["ModelDataSource"] = {"S3DataSource": source}
    else:
        container["ModelDataUrl"] = bundle.uri
    request = {
        "ModelPackageGroupName": group,
        "ModelPackageDescription": f"bundle sha256 {bundle.sha256}",
        "ModelApprovalStatus": PENDING,
        "InferenceSpecification": {
            "Containers": [container],
            "SupportedContentTypes": list(bundle.accepts),
            "SupportedResponseMIMETypes": list(bundle.answers),
        },
        "CustomerMetadataProperties": _metadata(bundle),
    }
    if bundle.metrics_uri:
        statistics = {"ContentType": "application/json", "S3Uri": bundle.metrics_uri}
        request["ModelMetrics"] = {"ModelQuality": {"Statistics": statistics}}
    arn = _call(sagemaker.create_model_package, **request)["ModelPackageArn"]
    return describe(sagemaker, arn)


def versions(sagemaker, group: str) -> list[Version]:
    """Every version of `group`, oldest first (none when the group does not exist yet)."""
    arns: list[str] = []
    try:
        for page in sagemaker.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group):
            arns += [item["ModelPackageArn"] for item in page["ModelPackageSummaryList"]]
    except botocore.exceptions.ClientError as error:
        if _missing(error):
            return []
        raise RegistryError(f"model registry: {aws.explain(error)}") from error
    return sorted((describe(sagemaker, arn) for arn in arns), key=lambda version: version.number)


def describe(sagemaker, arn: str) -> Version:
    """The version whose ARN is `arn`."""
    found = _call(sagemaker.describe_model_package, ModelPackageName=arn)
    metadata = found.get("CustomerMetadataProperties") or {}
    container = (found.get("InferenceSpecification", {}).get("Containers") or [{}])[0]
    source = container.get("ModelDataSource", {}).get("S3DataSource", {})
    return Version(
        number=int(found.get("ModelPackageVersion") or arn.rsplit("/", 1)[-1]),
        arn=arn,
        status=found.get("ModelApprovalStatus", PENDING),
        bundle_uri=container.get("ModelDataUrl") or source.get("S3Uri", ""),
        sha256=metadata.get("sha256", ""),
        image=container.get("Image", ""),
        compression="none" if source else "gzip",
        metrics={key[len(METRIC) :]: float(value) for key, value in metadata.items() if key.startswith(METRIC)},
        commit=metadata.get("commit", ""),
        created=str(found.get("CreationTime", "")),
        s3_version=metadata.get("s3_version", ""),
    )


def approve(sagemaker, version: Version, note: str) -> Version:
    """Mark `version` Approved, so prod may deploy it."""
    metadata = _call(sagemaker.describe_model_package, ModelPackageName=version.arn).get("CustomerMetadataProperties")
    _call(
        sagemaker.update_model_package,
        ModelPackageArn=version.arn,
        ModelApprovalStatus=APPROVED,
        ApprovalDescription=note,
        CustomerMetadataProperties=metadata or {},  # kept as they are
    )
    return describe(sagemaker, version.arn)


def choose(found: list[Version], group: str, number: int | None, approved_only: bool) -> Version:
    """Version `number` of `found`, or the newest one (the newest approved one when `approved_only`)."""
    if number is not None:
        match = [version for version in found if version.number == number]
        if not match:
            numbers = ", ".join(str(version.number) for version in found) or "none"
            raise RegistryError(f"{group} has no version {number} (versions: {numbers})")
        if approved_only and match[0].status != APPROVED:
            raise RegistryError(f"{group} version {number} is {match[0].status}: approve it first")
        return match[0]
    candidates = [v for v in found if v.status == APPROVED] if approved_only else found
    candidates = [v for v in candidates if v.status != REJECTED]
    if not candidates:
        kind = "approved version" if approved_only else "registered version"
        raise RegistryError(f"{group} has no {kind} yet: run `promote`{' then `approve`' if approved_only else ''}")
    return candidates[-1]


def check_forward(chosen: Version, live_arn: str, stage: str, rollback: bool) -> None:
    """Refuse to replace what `stage` serves by an older version unless it is a deliberate rollback.

    Two CI runs that finish out of order would otherwise put the older one's version back live.
    """
    live = number_of(live_arn)
    if live is not None and chosen.number < live and not rollback:
        raise RegistryError(f"{stage} serves version {live}, newer than {chosen.number}: add --rollback to go back")


def number_of(arn: str) -> int | None:
    """The version number at the end of a model package version's ARN (None for anything else)."""
    tail = arn.rsplit("/", 1)[-1] if ":model-package/" in arn else ""
    return int(tail) if tail.isdigit() else None


def _metadata(bundle: Bundle) -> dict[str, str]:
    """Customer metadata: sha256, commit and the gate's metrics, within SageMaker's limits (50 keys of
    at most 128 characters from a restricted set); every metric is in the attached statistics too."""
    metadata = {"sha256": bundle.sha256, "commit": bundle.commit or "unknown"}
    if bundle.s3_version:
        metadata["s3_version"] = bundle.s3_version
    for name, value in list(bundle.metrics.items())[: MAX_METADATA - len(metadata)]:
        metadata[f"{METRIC}{re.sub(r'[^A-Za-z0-9_.:/=+@ -]', '_', name)}"[:128]] = json.dumps(value)
    return metadata


def _missing(error: botocore.exceptions.ClientError) -> bool:
    message = aws.explain(error).lower()
    return "does not exist" in message or "not found" in message or "resourcenotfound" in message


def _call(operation, **request) -> dict:
    try:
        return operation(**request)
    except botocore.exceptions.ClientError as error:
        raise RegistryError(f"model registry: {aws.explain(error)}") from error
