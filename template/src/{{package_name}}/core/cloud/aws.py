"""Where the project lives on AWS, and boto3 clients for it.

Settings come from `settings.py`, each overridden by the environment variable of the same
name (ARTIFACTS_BUCKET, SAGEMAKER_ROLE_ARN, RESOURCE_PREFIX; the region from AWS_REGION or
AWS_DEFAULT_REGION); the bucket and role, unless in the environment, from the file `bootstrap`
wrote for the account and region (core/cloud/accounts.py), before settings.py. Credentials are
boto3's own chain (environment, profile, SSO, OIDC web identity in CI); nothing here writes
them anywhere.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, replace

import boto3
import botocore.exceptions
import botocore.loaders
import botocore.session
from botocore.config import Config

from ..basics import project
from ..basics.errors import ProjectError
from . import accounts

SEPARATOR = "--"  # between the resource prefix and the rest of a name
PREFIX = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")  # no "--", no leading or trailing "-"
# infra/model.yaml names the SageMaker model and endpoint configuration `<endpoint>-<12-hex release hash>`,
# and SageMaker names hold 63 characters: an endpoint name may have 50.
ENDPOINT_NAME_MAX = 50


class AwsError(ProjectError):
    """A missing setting, missing credentials, or an AWS call that failed."""


@dataclass(frozen=True)
class AwsConfig:
    region: str
    bucket: str
    role_arn: str
    prefix: str
    endpoint_url: str | None = None

    def resource_name(self, *parts: str) -> str:
        """`<prefix>--<parts joined by ->`: the name of a stack, job or SageMaker resource of the project.

        Two hyphens end the prefix, which never holds two itself, so IAM patterns `<prefix>--*` match
        this project's resources only, never those of a project whose name merely starts the same.
        """
        return f"{self.prefix}{SEPARATOR}{'-'.join(part.replace('_', '-') for part in parts)}"

    def endpoint_name(self, model: str, stage: str) -> str:
        """`<prefix>--<model>-<stage>`: the endpoint's (and the model stack's) name."""
        name = self.resource_name(model, stage)
        if len(name) > ENDPOINT_NAME_MAX:
            raise AwsError(
                f"endpoint name '{name}' has {len(name)} characters, SageMaker allows {ENDPOINT_NAME_MAX} here "
                "(its model is named <endpoint>-<release hash>): shorten RESOURCE_PREFIX or the model name"
            )
        return name

    def group_name(self, model: str) -> str:
        """`<prefix>--<model>`: the model package group holding the model's registered versions."""
        return self.resource_name(model)

    def key(self, model: str, *parts: str) -> str:
        """An S3 key under the project's prefix: `<prefix>/<model>/<parts...>`."""
        return "/".join([self.prefix, model, *parts])


def load(endpoint_url: str | None = None) -> AwsConfig:
    """The AWS settings in force, checked: each from its environment variable, else the accounts file, else settings."""
    config = base_config(endpoint_url)
    found = accounts.settings_in_force(config.region, config.endpoint_url)
    for name, value in found.items():
        if not value:
            raise AwsError(f"{name} is not set: run `{project.package()} bootstrap` (see the README)")
    return replace(config, bucket=found["ARTIFACTS_BUCKET"], role_arn=found["SAGEMAKER_ROLE_ARN"])


def base_config(endpoint_url: str | None = None) -> AwsConfig:
    """The region, resource prefix and endpoint in force, checked; no bucket or role yet (what bootstrap needs)."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or project.settings().AWS_REGION
    partitions = ("cn-", "us-gov-", "us-iso")
    if region not in _sagemaker_regions() and not region.startswith(partitions):
        raise AwsError(f"unknown AWS region '{region}' (set AWS_REGION or settings.AWS_REGION)")
    prefix = os.environ.get("RESOURCE_PREFIX", project.settings().RESOURCE_PREFIX)
    check_prefix(prefix)
    return AwsConfig(region, "", "", prefix, endpoint_url or os.environ.get("AWS_ENDPOINT_URL"))


@functools.cache
def _sagemaker_regions() -> frozenset[str]:
    return frozenset(boto3.session.Session().get_available_regions("sagemaker"))  # reads botocore's endpoint data


def check_prefix(prefix: str) -> None:
    """Refuse a RESOURCE_PREFIX that could not scope the project's resource names (see `resource_name`)."""
    if not PREFIX.match(prefix) or len(prefix) > 30:
        raise AwsError(
            f"RESOURCE_PREFIX '{prefix}' must be 1-30 lower-case letters and digits in groups joined by one '-'"
        )


def client(config: AwsConfig, service: str):
    """A boto3 client for `service`, refusing to start without credentials.

    Each client gets a session of its own (credentials are read afresh: a role assumed since the
    last call counts), sharing one loader of AWS's service descriptions, which are slow to parse.
    """
    core = botocore.session.get_session()
    core.register_component("data_loader", _service_descriptions())
    session = boto3.session.Session(botocore_session=core, region_name=config.region)
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


@functools.cache
def _service_descriptions() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()
