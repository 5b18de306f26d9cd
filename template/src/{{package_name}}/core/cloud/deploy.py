"""Put a bundle live: create or update its model stack, serving a registered version or a local bundle.

The stack is `infra/model.yaml`, named like its endpoint (`<prefix>--<model>-<stage>`). Every
change goes through a CloudFormation change set, so `dry_run` can show it without executing
it. `deploy_version` serves a version `promote` registered (nothing is built or uploaded);
`deploy` uploads a local bundle first (once: its S3 key holds its sha256). The model and
endpoint configuration are named after a hash of every stack parameter, so a new bundle or
new serving settings mean new ones, which the endpoint switches to in place. If the update
fails, CloudFormation rolls back and the previous model keeps serving. An uncompressed bundle
(a folder) goes under an S3 prefix, which the endpoint loads without unpacking. The serving
image is the region's AWS PyTorch inference image (core/cloud/images.py): the GPU one for GPU types.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import botocore.exceptions
from boto3.s3.transfer import TransferConfig

from ..basics.config import DeployConfig
from . import aws, images, packages

TEMPLATE = Path("infra") / "model.yaml"
MULTIPART = TransferConfig(multipart_threshold=16 * 2**20, multipart_chunksize=16 * 2**20)
DENIED = ("403", "AccessDenied", "Forbidden")  # S3's answers to a caller without the permission
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")


@dataclass
class Deployment:
    """What a deploy did."""

    stack: str
    bundle_uri: str
    uploaded: bool
    action: str  # CREATE, UPDATE, NONE (nothing changed) or DRY-RUN
    parameters: dict[str, str]
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (action, logical id, type)
    outputs: dict[str, str] = field(default_factory=dict)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(2**20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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


def deploy(
    model: str, bundle: Path, stage: str, serving: DeployConfig, endpoint_url: str | None, dry_run: bool, progress
) -> Deployment:
    """Upload `bundle` (a local model.tar.gz or bundle folder) and create or update the model's stack for `stage`."""
    config = _settings(endpoint_url)
    image = serving_image(serving, config.region)  # before any upload: it fails without the SDK
    upload = upload_folder if bundle.is_dir() else upload_bundle
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
    action, changes, outputs = apply_stack(cfn, stack, TEMPLATE.read_text(), parameters, dry_run)
    return Deployment(stack, release.uri, uploaded, action, parameters, changes, outputs)


def release_hash(parameters: dict[str, str]) -> str:
    """12 hex characters that change with any parameter: the model and endpoint configuration are named with them."""
    return hashlib.sha256(json.dumps(parameters, sort_keys=True).encode()).hexdigest()[:12]


def serving_image(serving: DeployConfig, region: str) -> str:
    """The AWS PyTorch inference image for the endpoint: GPU for a GPU instance type (real-time, async), else CPU."""
    return images.inference_image(
        serving.instance_type if serving.endpoint_type in serving.ON_INSTANCES else None, region
    )


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


def _check_unchanged(config: aws.AwsConfig, version: packages.Version) -> None:
    """Refuse a version whose bundle was written over in S3 since it was registered: deploy serves what was tested."""
    if not version.s3_version:
        return
    now = stored_version(aws.client(config, "s3"), config, version.bundle_uri)
    if now != version.s3_version:
        raise aws.AwsError(
            f"version {version.number}'s bundle {version.bundle_uri} was written over since it was registered "
            f"(S3 object version {now or 'none'}, registered {version.s3_version}): promote the run again"
        )


def _identity_key(config: aws.AwsConfig, bundle_uri: str) -> str:
    """The key whose object version identifies a bundle: model.tar.gz, or a folder's `model.sha256` marker."""
    key = bundle_uri[len(f"s3://{config.bucket}/") :]
    return key.removesuffix("model/") + "model.sha256" if key.endswith("/") else key


def folder_sha256(folder: Path) -> str:
    """The identity of an uncompressed bundle: the sha256 of its files' names and hashes."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return hashlib.sha256(
        "".join(f"{p.relative_to(folder).as_posix()}:{sha256(p)}\n" for p in files).encode()
    ).hexdigest()


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
        **serving.stack_parameters(),
        "DataCaptureUri": capture,
        "AsyncS3Uri": f"s3://{config.bucket}/{config.key(model, 'async')}/",  # input/ (see remote.invoke), output/
    }


def apply_stack(
    cfn, stack: str, template: str, parameters: dict[str, str], dry_run: bool, capabilities: Sequence[str] = ()
) -> tuple[str, list, dict]:
    """Create or update `stack` through a change set; returns (action, changes, outputs)."""
    _clear_failed_create(cfn, stack, dry_run)
    action = "UPDATE" if _stack_exists(cfn, stack) else "CREATE"
    name = f"deploy-{int(time.time())}"
    try:
        cfn.create_change_set(
            StackName=stack,
            ChangeSetName=name,
            ChangeSetType=action,
            TemplateBody=template,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Tags=[{"Key": "managed-by", "Value": "deploy"}],
            Capabilities=list(capabilities),
        )
        described = _wait_for_change_set(cfn, stack, name)
    except botocore.exceptions.ClientError as error:
        if any(reason in aws.explain(error) for reason in NO_CHANGES):
            return "NONE", [], _outputs(cfn, stack)
        raise aws.AwsError(f"change set for {stack} could not be created: {aws.explain(error)}") from error
    changes = [_change(item) for item in described.get("Changes", [])]
    if described["Status"] == "FAILED":
        cfn.delete_change_set(StackName=stack, ChangeSetName=name)
        if any(reason in described.get("StatusReason", "") for reason in NO_CHANGES):
            return "NONE", [], _outputs(cfn, stack)
        raise aws.AwsError(f"change set for {stack} failed: {described.get('StatusReason')}")
    if dry_run:
        cfn.delete_change_set(StackName=stack, ChangeSetName=name)
        if action == "CREATE":
            cfn.delete_stack(StackName=stack)  # the empty REVIEW_IN_PROGRESS stack a CREATE change set leaves
        return "DRY-RUN", changes, {}
    _execute(cfn, stack, name, action)
    return action, changes, _outputs(cfn, stack)


def _execute(cfn, stack: str, name: str, action: str) -> None:
    keeps = " CloudFormation rolls back: what the stack ran before keeps running." if action == "UPDATE" else ""
    try:
        cfn.execute_change_set(StackName=stack, ChangeSetName=name)
        waiter = cfn.get_waiter("stack_create_complete" if action == "CREATE" else "stack_update_complete")
        waiter.wait(StackName=stack, WaiterConfig={"Delay": 10, "MaxAttempts": 360})
    except botocore.exceptions.ClientError as error:
        raise aws.AwsError(f"stack {stack} failed to {action.lower()}: {aws.explain(error)}.{keeps}") from error
    except botocore.exceptions.WaiterError as error:
        reasons = "; ".join(_failure_reasons(cfn, stack)) or str(error)
        raise aws.AwsError(f"stack {stack} failed to {action.lower()}: {reasons}.{keeps}") from error


def _wait_for_change_set(cfn, stack: str, name: str) -> dict:
    for _ in range(360):
        described = cfn.describe_change_set(StackName=stack, ChangeSetName=name)
        if described["Status"] in ("CREATE_COMPLETE", "FAILED"):
            return described
        time.sleep(2)
    raise aws.AwsError(f"change set {name} of {stack} was not ready after 12 minutes")


def _clear_failed_create(cfn, stack: str, dry_run: bool) -> None:
    """Delete a stack whose creation failed (ROLLBACK_COMPLETE): it holds nothing and cannot be updated."""
    try:
        status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    except botocore.exceptions.ClientError:
        return
    if status != "ROLLBACK_COMPLETE":
        return
    if dry_run:
        raise aws.AwsError(f"stack {stack} failed to create before: run again without --dry-run to replace it")
    cfn.delete_stack(StackName=stack)
    cfn.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig={"Delay": 5, "MaxAttempts": 120})


def _stack_exists(cfn, stack: str) -> bool:
    try:
        status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    except botocore.exceptions.ClientError as error:
        if "does not exist" in aws.explain(error):
            return False
        raise aws.AwsError(aws.explain(error)) from error
    return status != "REVIEW_IN_PROGRESS"


def _outputs(cfn, stack: str) -> dict[str, str]:
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {item["OutputKey"]: item["OutputValue"] for item in described.get("Outputs") or []}


def _change(item: dict) -> tuple[str, str, str]:
    change = item.get("ResourceChange", {})
    return change.get("Action", "?"), change.get("LogicalResourceId", "?"), change.get("ResourceType", "?")


def _failure_reasons(cfn, stack: str) -> list[str]:
    events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    return [
        f"{event['LogicalResourceId']}: {event.get('ResourceStatusReason', '')}"
        for event in events
        if event.get("ResourceStatus", "").endswith("_FAILED")
    ][:3]


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


def live_parameters(config: aws.AwsConfig, model: str, stage: str) -> dict[str, str]:
    """The parameters of the model's stack for `stage` (empty when it has none yet): what it serves."""
    cfn = aws.client(config, "cloudformation")
    try:
        stack = cfn.describe_stacks(StackName=config.endpoint_name(model, stage))["Stacks"][0]
    except botocore.exceptions.ClientError as error:
        if "does not exist" in aws.explain(error):
            return {}
        raise aws.AwsError(aws.explain(error)) from error
    return {item["ParameterKey"]: item.get("ParameterValue", "") for item in stack.get("Parameters") or []}
