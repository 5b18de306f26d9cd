"""Where the project lives on AWS, and boto3 clients for it.

Settings come from `settings.py`, each overridden by the environment variable of the same
name (ARTIFACTS_BUCKET, SAGEMAKER_ROLE_ARN, RESOURCE_PREFIX; the region from AWS_REGION or
AWS_DEFAULT_REGION). Credentials are boto3's own chain (environment, profile, SSO, OIDC web
identity in CI); nothing here writes them anywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import boto3
import botocore.exceptions
from botocore.config import Config

from .. import settings
from .errors import ProjectError


class AwsError(ProjectError):
    """A missing setting, missing credentials, or an AWS call that failed."""


@dataclass(frozen=True)
class AwsConfig:
    region: str
    bucket: str
    role_arn: str
    prefix: str
    endpoint_url: str | None = None

    def endpoint_name(self, model: str, stage: str) -> str:
        """`<prefix>-<model>-<stage>`: the endpoint's (and the model stack's) name."""
        return f"{self.prefix}-{model.replace('_', '-')}-{stage}"

    def key(self, model: str, *parts: str) -> str:
        """An S3 key under the project's prefix: `<prefix>/<model>/<parts...>`."""
        return "/".join([self.prefix, model, *parts])


def load(endpoint_url: str | None = None) -> AwsConfig:
    """The AWS settings in force, checked."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or settings.AWS_REGION
    known = boto3.session.Session().get_available_regions("sagemaker")
    partitions = ("cn-", "us-gov-", "us-iso")
    if region not in known and not region.startswith(partitions):
        raise AwsError(f"unknown AWS region '{region}' (set AWS_REGION or settings.AWS_REGION)")
    config = AwsConfig(
        region=region,
        bucket=os.environ.get("ARTIFACTS_BUCKET", settings.ARTIFACTS_BUCKET),
        role_arn=os.environ.get("SAGEMAKER_ROLE_ARN", settings.SAGEMAKER_ROLE_ARN),
        prefix=os.environ.get("RESOURCE_PREFIX", settings.RESOURCE_PREFIX),
        endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL"),
    )
    for name, value in (("ARTIFACTS_BUCKET", config.bucket), ("SAGEMAKER_ROLE_ARN", config.role_arn)):
        if not value:
            raise AwsError(f"{name} is not set: put the project stack's output in settings.py or the environment")
    return config


def client(config: AwsConfig, service: str):
    """A boto3 client for `service`, refusing to start without credentials."""
    session = boto3.session.Session(region_name=config.region)
    if session.get_credentials() is None:
        raise AwsError("no AWS credentials: configure a profile, SSO or environment variables (see the README)")
    retries = Config(retries={"max_attempts": 3, "mode": "standard"})
    return session.client(service, endpoint_url=config.endpoint_url, config=retries)


def explain(error: botocore.exceptions.BotoCoreError | botocore.exceptions.ClientError) -> str:
    """One line for an AWS error."""
    if isinstance(error, botocore.exceptions.ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Error')}: {details.get('Message', str(error))}"
    return str(error)
