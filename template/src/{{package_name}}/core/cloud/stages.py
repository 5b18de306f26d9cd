"""Registered versions on stages: approving one, deploying one to a stage, and which version each stage serves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..basics import project
from ..catalog import registry, selection
from ..inference import codecs
from . import aws, endpoints, packages
from . import deploy as deploying


@dataclass(frozen=True)
class History:
    group: str  # the model package group
    versions: list[packages.Version]  # oldest first
    live: dict[str, list[str]]  # version ARN -> the stages serving it


@dataclass(frozen=True)
class Registered:
    config: aws.AwsConfig  # the AWS settings in force
    sagemaker: object  # a SageMaker client
    group: str  # MODEL's model package group
    versions: list[packages.Version]  # oldest first


def registered(model: str, endpoint_url: str | None) -> Registered:
    """MODEL's registered versions, with the settings and client that found them (an unknown model first)."""
    registry.folder(model)
    config = aws.load(endpoint_url)
    sagemaker, group = aws.client(config, "sagemaker"), config.group_name(model)
    return Registered(config, sagemaker, group, packages.versions(sagemaker, group))


def approve(model: str, version: int, note: str, endpoint_url: str | None) -> packages.Version:
    """Approve registered version `version` of MODEL (prod deploys the newest approved one)."""
    found = registered(model, endpoint_url)
    chosen = packages.choose(found.versions, found.group, version, approved_only=False)
    return packages.approve(found.sagemaker, chosen, note)


def deploy(
    model: str, stage: str, version: int | None, rollback: bool, dry_run: bool, endpoint_url: str | None
) -> tuple[packages.Version, deploying.Deployment]:
    """Put a registered version of MODEL live on `stage` (default: the newest; on the last stage, the newest
    approved), never older than what the stage serves unless `rollback`."""
    found = registered(model, endpoint_url)
    last_stage = stage == project.settings().STAGES[-1]
    chosen = packages.choose(found.versions, found.group, version, approved_only=last_stage)
    live = deploying.live_parameters(found.config, model, stage).get("ModelPackageArn", "")
    packages.check_forward(chosen, live, stage, rollback)
    deploy_config = selection.model_config(model).deploy
    return chosen, deploying.deploy_version(model, chosen, stage, deploy_config, endpoint_url, dry_run)


def history(model: str, endpoint_url: str | None) -> History:
    """MODEL's registered versions, and the stages each one is live on."""
    found = registered(model, endpoint_url)
    live = {stage: deploying.live_parameters(found.config, model, stage) for stage in project.settings().STAGES}
    on = {v.arn: [stage for stage, served in live.items() if serves(served, v)] for v in found.versions}
    return History(found.group, found.versions, on)


def serves(parameters: dict[str, str], version: packages.Version) -> bool:
    """Whether a stage's stack parameters serve `version`."""
    if parameters.get("ModelPackageArn"):
        return parameters["ModelPackageArn"] == version.arn
    return bool(parameters) and parameters.get("ModelDataUrl") == version.bundle_uri


def invoke(model: str, stage: str, data_file: Path, content_type: str | None, endpoint_url: str | None) -> bytes:
    """The answer of MODEL's endpoint on `stage` to the body in `data_file` (media type: from its extension)."""
    registry.folder(model)
    kind = content_type or codecs.media_type_of(data_file)
    endpoint = aws.load(endpoint_url).endpoint_name(model, stage)
    endpoint_type = selection.model_config(model).deploy.endpoint_type  # async endpoints answer through S3
    body, _ = endpoints.invoke(
        endpoint, data_file.read_bytes(), kind, "application/json", endpoint_url, endpoint_type, model
    )
    return body
