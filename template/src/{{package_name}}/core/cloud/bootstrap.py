"""Deploy the project stack (infra/project.yaml) once per account and region, and record its outputs.

The stack (`<prefix>-project` by default) goes through a change set like a model stack does
(core/cloud/stacks.py), with CAPABILITY_IAM for its roles. Parameters come from the template itself:
ProjectName is the resource prefix, the options given set theirs, and any other parameter keeps
the value the stack already has. Its outputs land in `infra/accounts/<account>-<region>.json`
(core/cloud/accounts.py), where `aws.load()` finds them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import botocore.exceptions

from ..basics import project
from . import accounts, aws, stacks

TEMPLATE = Path("infra") / "project.yaml"
CAPABILITIES = ("CAPABILITY_IAM",)
REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
OIDC_HOST = "token.actions.githubusercontent.com"


@dataclass(kw_only=True)
class Bootstrapped(stacks.StackChange):
    """What a bootstrap did: the project stack's change, where it is, and the accounts file it wrote."""

    account: str
    region: str
    written: Path | None = None  # the accounts file (None on a dry run)
    file_changed: bool = False


def bootstrap(
    choices: dict[str, str],
    stack: str | None,
    endpoint_url: str | None,
    dry_run: bool,
    progress: Callable[[dict], None],
) -> Bootstrapped:
    """Create or update the project stack with `choices` (template parameter: value) and record its outputs."""
    config = aws.base_config(endpoint_url)
    if not TEMPLATE.is_file():
        raise aws.AwsError(f"{TEMPLATE} not found: run bootstrap from the project's root folder")
    _check_choices(config, choices)
    stack = stack or f"{config.prefix}-project"
    template = TEMPLATE.read_text()
    cfn = aws.client(config, "cloudformation")
    account = _call(lambda: aws.client(config, "sts").get_caller_identity()["Account"])
    parameters, changed, capabilities = _plan(config, cfn, stack, template, {"ProjectName": config.prefix, **choices})
    with stacks.watch(cfn, stack, progress, enabled=not dry_run):
        change = stacks.apply_stack(cfn, stack, template, changed, dry_run, capabilities)
    shown = vars(change) | {"parameters": parameters}  # every parameter, not only those sent
    done = Bootstrapped(**shown, account=account, region=config.region)
    if not dry_run:
        done.written, done.file_changed = _record(done)
    return done


def github_secrets(outputs: dict[str, str]) -> list[tuple[str, str | None, str]]:
    """(secret, GitHub environment or None for the repository, ARN) of each role the workflows assume.

    `PublishRoleArn` -> AWS_PUBLISH_ROLE_ARN of the repository; `<Stage>DeployRoleArn` -> AWS_DEPLOY_ROLE_ARN
    of the GitHub environment named like the stage.
    """
    stages = re.compile(rf"^({'|'.join(stage.capitalize() for stage in project.settings().STAGES)})(?=[A-Z])")
    found = []
    for key, arn in outputs.items():
        if key.endswith("RoleArn") and key != "ExecutionRoleArn":
            stage = stages.match(key)
            name = key[stage.end() :] if stage else key
            found.append(
                ("AWS_" + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper(), stage and stage[1].lower(), arn)
            )
    return found


def _plan(config: aws.AwsConfig, cfn, stack: str, template: str, given: dict[str, str]) -> tuple[dict, dict, list]:
    """Every parameter's value, those that differ from the template's defaults (to send), and the capabilities."""
    summary = _call(lambda: cfn.get_template_summary(TemplateBody=template))
    defaults = {item["ParameterKey"]: item.get("DefaultValue", "") for item in summary.get("Parameters", [])}
    parameters = _parameters(cfn, stack, defaults, given)
    parameters |= _existing_oidc_provider(config, cfn, stack, parameters)
    changed = {key: value for key, value in parameters.items() if value != defaults[key]}
    return parameters, changed, sorted(set(CAPABILITIES) | set(summary.get("Capabilities", [])))


def _record(done: Bootstrapped) -> tuple[Path, bool]:
    missing = [key for key in accounts.OUTPUTS.values() if key not in done.outputs]
    if missing:
        raise aws.AwsError(f"stack {done.stack} has no output {', '.join(missing)}: check the Outputs of {TEMPLATE}")
    return accounts.write(done.account, done.region, done.stack, done.outputs)


def _check_choices(config: aws.AwsConfig, choices: dict[str, str]) -> None:
    repository = choices.get("GitHubRepository")
    if repository and not REPOSITORY.match(repository):
        raise aws.AwsError(f"GitHub repository '{repository}' is not OWNER/NAME")
    bucket = choices.get("ExistingBucketName")
    if bucket:
        try:
            aws.client(config, "s3").head_bucket(Bucket=bucket)
        except botocore.exceptions.ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            known = {"404": "does not exist", "403": "is not readable with these credentials"}
            raise aws.AwsError(f"bucket '{bucket}' {known.get(code, aws.explain(error))}") from error


def _parameters(cfn, stack: str, defaults: dict[str, str], given: dict[str, str]) -> dict[str, str]:
    """Every parameter of the template: as given, else the stack's current value, else the template's default."""
    unknown = [name for name in given if name not in defaults]
    if unknown:
        raise aws.AwsError(f"{TEMPLATE} has no parameter {', '.join(unknown)}")
    current = {key: value for key, value in _stack(cfn, stack).get("parameters", {}).items() if key in defaults}
    return defaults | current | given


def _existing_oidc_provider(config: aws.AwsConfig, cfn, stack: str, parameters: dict[str, str]) -> dict[str, str]:
    """Point the stack at the account's GitHub OIDC provider if one exists that the stack does not own.

    An account holds one provider per URL, so creating a second one would fail.
    """
    if "GitHubOidcProviderArn" not in parameters or parameters["GitHubOidcProviderArn"]:
        return {}
    if not parameters.get("GitHubRepository"):
        return {}
    providers = _call(lambda: aws.client(config, "iam").list_open_id_connect_providers())
    arns = [item["Arn"] for item in providers.get("OpenIDConnectProviderList", []) if item["Arn"].endswith(OIDC_HOST)]
    owned = set(_stack(cfn, stack).get("resources", []))
    return {"GitHubOidcProviderArn": arns[0]} if arns and arns[0] not in owned else {}


def _stack(cfn, stack: str) -> dict:
    """The live stack's parameters and physical resource ids ({} if there is none)."""
    described = stacks.describe(cfn, stack)
    if described is None or described["StackStatus"] == "REVIEW_IN_PROGRESS":
        return {}
    resources = cfn.get_paginator("list_stack_resources").paginate(StackName=stack)
    return {
        "parameters": {item["ParameterKey"]: item["ParameterValue"] for item in described.get("Parameters", [])},
        "resources": [item.get("PhysicalResourceId") for page in resources for item in page["StackResourceSummaries"]],
    }


def _call(request: Callable):
    try:
        return request()
    except botocore.exceptions.ClientError as error:
        raise aws.AwsError(aws.explain(error)) from error
