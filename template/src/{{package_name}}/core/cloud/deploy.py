"""Put a bundle live: create or update its model stack, serving a registered version or a local bundle.

The stack is `infra/model.yaml`, named like its endpoint (`<prefix>--<model>-<stage>`). Every
change goes through a CloudFormation change set (core/cloud/stacks.py), so `dry_run` can show it
without executing it. `deploy_version` serves a version `promote` registered (nothing is built or
uploaded); `deploy` uploads a local bundle first (once: core/cloud/uploads.py). The model and
endpoint configuration are named after a hash of every stack parameter, so a new bundle or
new serving settings mean new ones, which the endpoint switches to in place. If the update
fails, CloudFormation rolls back and the previous model keeps serving. An uncompressed bundle
(a folder) goes under an S3 prefix, which the endpoint loads without unpacking. The serving
image is the region's AWS PyTorch inference image (core/cloud/images.py): the GPU one for GPU types.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..basics.config import DeployConfig
from . import aws, images, packages, stacks, uploads
from .serving_parameters import serving_parameters

TEMPLATE = Path("infra") / "model.yaml"


@dataclass(kw_only=True)
class Deployment(stacks.StackChange):
    """What a deploy did: the stack's change, and the bundle it serves."""

    bundle_uri: str
    uploaded: bool


def deploy(
    model: str, bundle: Path, stage: str, serving: DeployConfig, endpoint_url: str | None, dry_run: bool, progress
) -> Deployment:
    """Upload `bundle` (a local model.tar.gz or bundle folder) and create or update the model's stack for `stage`."""
    config = _settings(endpoint_url)
    image = serving_image(serving, config.region)  # before any upload: it fails without the SDK
    upload = uploads.upload_folder if bundle.is_dir() else uploads.upload_bundle
    uri, uploaded = upload(aws.client(config, "s3"), config, model, bundle, progress)
    release = Release(uri, "none" if bundle.is_dir() else "gzip", image)
    return _apply(config, model, stage, release, serving, dry_run, uploaded)


def deploy_version(
    model: str, version: packages.Version, stage: str, serving: DeployConfig, endpoint_url: str | None, dry_run: bool
) -> Deployment:
    """Create or update the model's stack for `stage` to serve a registered version: nothing is built or uploaded."""
    config = _settings(endpoint_url)
    _check_unchanged(config, version)
    release = Release(version.bundle_uri, version.compression, version.image, version.arn)
    return _apply(config, model, stage, release, serving, dry_run, uploaded=False)


@dataclass(frozen=True)
class Release:
    """What a stack serves: the bundle in S3, its image, and the registered version it is (if any)."""

    uri: str
    compression: str  # gzip or none
    image: str
    package_arn: str = ""


def _settings(endpoint_url: str | None) -> aws.AwsConfig:
    config = aws.load(endpoint_url)
    if not TEMPLATE.is_file():
        raise aws.AwsError(f"{TEMPLATE} not found: run deploy from the project's root folder")
    return config


def _apply(
    config: aws.AwsConfig,
    model: str,
    stage: str,
    release: Release,
    serving: DeployConfig,
    dry_run: bool,
    uploaded: bool,
) -> Deployment:
    stack = config.endpoint_name(model, stage)
    parameters = stack_parameters(config, model, stage, release.uri, serving) | {
        "ImageUri": release.image,
        "ModelDataCompression": "None" if release.compression == "none" else "Gzip",
        "ModelPackageArn": release.package_arn,
    }
    parameters["ReleaseHash"] = release_hash(parameters)
    cfn = aws.client(config, "cloudformation")
    change = stacks.apply_stack(cfn, stack, TEMPLATE.read_text(), parameters, dry_run)
    return Deployment(**vars(change), bundle_uri=release.uri, uploaded=uploaded)


def release_hash(parameters: dict[str, str]) -> str:
    """12 hex characters that change with any parameter: the model and endpoint configuration are named with them."""
    return hashlib.sha256(json.dumps(parameters, sort_keys=True).encode()).hexdigest()[:12]


def serving_image(serving: DeployConfig, region: str) -> str:
    """The AWS PyTorch inference image for the endpoint: GPU for a GPU instance type (real-time, async), else CPU."""
    return images.inference_image(
        serving.instance_type if serving.endpoint_type in serving.ON_INSTANCES else None, region
    )


def _check_unchanged(config: aws.AwsConfig, version: packages.Version) -> None:
    """Refuse a version whose bundle was written over in S3 since it was registered: deploy serves what was tested."""
    if not version.s3_version:
        return
    now = uploads.stored_version(aws.client(config, "s3"), config, version.bundle_uri)
    if now != version.s3_version:
        raise aws.AwsError(
            f"version {version.number}'s bundle {version.bundle_uri} was written over since it was registered "
            f"(S3 object version {now or 'none'}, registered {version.s3_version}): promote the run again"
        )


def stack_parameters(
    config: aws.AwsConfig, model: str, stage: str, bundle_uri: str, serving: DeployConfig
) -> dict[str, str]:
    """The model stack's parameters for this bundle and stage.

    Captured requests go to `<prefix>/<model>/capture/`, async requests and answers under
    `<prefix>/<model>/async/` (shared by the stages: the endpoint's name is in each capture's key).
    """
    capture = f"s3://{config.bucket}/{config.key(model, 'capture')}/" if serving.data_capture_percent else ""
    return {
        "EndpointName": config.endpoint_name(model, stage),
        "ModelDataUrl": bundle_uri,
        "ExecutionRoleArn": config.role_arn,
        **serving_parameters(serving),
        "DataCaptureUri": capture,
        "AsyncS3Uri": f"s3://{config.bucket}/{config.key(model, 'async')}/",  # input/ (see endpoints.invoke), output/
    }


def live_parameters(config: aws.AwsConfig, model: str, stage: str) -> dict[str, str]:
    """The parameters of the model's stack for `stage` (empty when it has none yet): what it serves."""
    stack = stacks.describe(aws.client(config, "cloudformation"), config.endpoint_name(model, stage)) or {}
    return {item["ParameterKey"]: item.get("ParameterValue", "") for item in stack.get("Parameters") or []}
