"""`bootstrap`: deploy the project stack to the account and region in use, and record its outputs."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ..cloud import bootstrap as bootstrapping
from . import printing
from .console import err, user_errors
from .options import EndpointUrlOpt

out = Console(soft_wrap=True)
COLORS = {"FAILED": "red", "IN_PROGRESS": "yellow", "COMPLETE": "green"}


def bootstrap(
    github_repository: Annotated[
        str | None, typer.Option(help="OWNER/NAME of the GitHub repository whose workflows may assume the roles.")
    ] = None,
    existing_bucket: Annotated[
        str | None, typer.Option(help="Keep artifacts in this existing bucket instead of creating one.")
    ] = None,
    oidc_provider_arn: Annotated[
        str | None,
        typer.Option(help="The account's GitHub OIDC provider (default: the existing one, else a new one)."),
    ] = None,
    stack: Annotated[str | None, typer.Option(help="Stack name (default: <RESOURCE_PREFIX>-project).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the parameters and change set only.")] = False,
    endpoint_url: EndpointUrlOpt = None,
) -> None:
    """Create or update the project stack (infra/project.yaml) and write its outputs to infra/accounts/."""
    options = {
        "GitHubRepository": github_repository,
        "ExistingBucketName": existing_bucket,
        "GitHubOidcProviderArn": oidc_provider_arn,
    }
    choices = {name: value for name, value in options.items() if value is not None}
    with user_errors():
        done = bootstrapping.bootstrap(choices, stack, endpoint_url, dry_run, _print_event)
    _print_result(done)


def _print_event(event: dict) -> None:
    status = event.get("ResourceStatus", "")
    color = next((c for suffix, c in COLORS.items() if status.endswith(suffix)), "white")
    reason = f"  {escape(event['ResourceStatusReason'])}" if event.get("ResourceStatusReason") else ""
    err.print(
        f"{event['Timestamp']:%H:%M:%S}  {event['LogicalResourceId']:<28} [{color}]{status}[/{color}]{reason}",
        highlight=False,
    )


def _print_result(done: bootstrapping.Bootstrapped) -> None:
    title = f"stack {done.stack} (account {done.account}, {done.region})"
    printing.stack_change(out, done.stack, title, done.parameters, done.changes, done.action)
    if done.written is None:
        return
    state = "written" if done.file_changed else "unchanged"
    out.print(f"{done.written} {state}: ARTIFACTS_BUCKET and SAGEMAKER_ROLE_ARN now come from it", highlight=False)
    for key, value in done.outputs.items():
        out.print(f"  {key} = {value}", highlight=False)
    if done.file_changed:
        out.print(f"commit it: git add {done.written} && git commit -m 'Record the project stack of {done.region}'")
    secrets = bootstrapping.github_secrets(done.outputs)
    if secrets:
        out.print("set these GitHub secrets (the roles the workflows assume; see .github/workflows/ci.yml):")
        for name, environment, arn in secrets:
            scope = f" --env {environment}" if environment else ""
            out.print(f"  gh secret set {name}{scope} --body {arn}", highlight=False)
