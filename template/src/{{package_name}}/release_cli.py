"""Commands that take a model live: promote, approve, deploy, invoke and `models history`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from .cli_errors import EndpointUrlOpt, err, user_errors
from .cli_options import BestOpt, GoalOpt, ModelArg, RunOpt, model_config, pick_run, print_stack_change
from .core.basics import project
from .core.basics.errors import ProjectError
from .core.catalog import registry
from .core.cloud import aws, endpoints, packages, promotion
from .core.cloud import deploy as deploying
from .core.inference import codecs

# The project's stages, for the options' defaults and help (a models repository's package is bound by now).
STAGES = project.settings().STAGES

out = Console()


def promote(
    model: ModelArg,
    run: RunOpt = None,
    best: BestOpt = None,
    goal: GoalOpt = None,
    compression: Annotated[
        str, typer.Option(help="gzip: model.tar.gz; none: an uncompressed bundle the endpoint reads from an S3 prefix.")
    ] = "gzip",
    as_json: Annotated[bool, typer.Option("--json", help="Print the registered version as JSON on stdout.")] = False,
    endpoint_url: EndpointUrlOpt = None,
) -> None:
    """Gate a run of MODEL on its goal metric, bundle it, check it answers, upload it and register it as a version."""
    with user_errors():
        candidate = promotion.prepare(model, pick_run(model, run, best, goal), compression)
        with _byte_progress("uploading", _size(candidate.bundle)) as progress:
            done = promotion.publish(candidate, endpoint_url, progress)
    version = done.version
    if as_json:
        fields = {"model": model, "version": version.number, "arn": version.arn, "sha256": version.sha256}
        print(json.dumps(fields | {"bundle_uri": version.bundle_uri, "status": version.status}))
        return
    out.print(f"gate passed: {done.verdict}")
    out.print(f"bundle {version.bundle_uri} ({'uploaded' if done.uploaded else 'already uploaded'})")
    out.print(f"registered [bold]{model} version {version.number}[/bold] ({version.status}): {version.arn}")


def approve(
    model: ModelArg,
    version: Annotated[int, typer.Option("--version", help="The registered version to approve for prod.")],
    note: Annotated[str, typer.Option(help="Why it is approved (kept with the version).")] = "approved with the CLI",
    endpoint_url: EndpointUrlOpt = None,
) -> None:
    """Approve a registered version of MODEL: prod deploys the newest approved version."""
    with user_errors():
        sagemaker, group, found = _registered(model, endpoint_url)
        approved = packages.approve(sagemaker, packages.choose(found, group, version, approved_only=False), note)
    out.print(f"{model} version {approved.number} is {approved.status}")


def deploy(
    model: ModelArg,
    stage: Annotated[str, typer.Option(help=f"Stage to deploy to ({', '.join(STAGES)}).")] = STAGES[0],
    version: Annotated[
        int | None,
        typer.Option("--version", help="Registered version (default: the newest; for prod, the newest approved)."),
    ] = None,
    rollback: Annotated[
        bool, typer.Option("--rollback", help="Allow a version older than the one the stage serves.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the parameters and change set only.")] = False,
    endpoint_url: EndpointUrlOpt = None,
) -> None:
    """Put a registered version of MODEL live on a stage: create or update its endpoint stack (nothing is rebuilt)."""
    with user_errors():
        if stage not in project.settings().STAGES:
            raise ProjectError(f"unknown stage '{stage}' (stages: {', '.join(project.settings().STAGES)})")
        _, group, found = _registered(model, endpoint_url)
        chosen = packages.choose(found, group, version, approved_only=stage == project.settings().STAGES[-1])
        live = deploying.live_parameters(aws.load(endpoint_url), model, stage).get("ModelPackageArn", "")
        packages.check_forward(chosen, live, stage, rollback)
        done = deploying.deploy_version(model, chosen, stage, model_config(model).deploy, endpoint_url, dry_run)
    out.print(f"{model} version {chosen.number} ({chosen.status}, sha256 {chosen.sha256[:12]})")
    _print_deployment(done)


def invoke(
    model: ModelArg,
    data_file: Annotated[
        Path,
        typer.Option(
            "--data",
            help="Request body (a .json, .jsonl, .csv, .txt, .npy, .png or .jpg file).",
            exists=True,
            dir_okay=False,
        ),
    ],
    stage: Annotated[str, typer.Option(help="Stage whose endpoint to call.")] = STAGES[0],
    content_type: Annotated[str | None, typer.Option(help="Default: from the file's extension.")] = None,
    endpoint_url: EndpointUrlOpt = None,
) -> None:
    """Call MODEL's deployed endpoint with a request body from a file."""
    with user_errors():
        registry.folder(model)
        kind = content_type or codecs.media_type_of(data_file)
        endpoint = aws.load(endpoint_url).endpoint_name(model, stage)
        endpoint_type = model_config(model).deploy.endpoint_type  # async endpoints answer through S3
        request = (data_file.read_bytes(), kind, "application/json")
        body, _ = endpoints.invoke(endpoint, *request, endpoint_url, endpoint_type, model)
    print(body.decode(errors="replace"))


def history(model: ModelArg, endpoint_url: EndpointUrlOpt = None) -> None:
    """List MODEL's registered versions, oldest first: status, where each is live, the metrics it was gated on."""
    with user_errors():
        registry.folder(model)
        settings_in_force = aws.load(endpoint_url)
        group = settings_in_force.group_name(model)
        found = packages.versions(aws.client(settings_in_force, "sagemaker"), group)
        stages = project.settings().STAGES
        live = {stage: deploying.live_parameters(settings_in_force, model, stage) for stage in stages}
    if not found:
        out.print(f"{group} has no registered version yet: run `promote {model}`")
        return
    names = sorted({name for version in found for name in version.metrics})
    table = Table("version", "status", "live on", "sha256", "commit", *names, "created", title=group)
    for version in found:
        stages = [stage for stage, parameters in live.items() if _serves(parameters, version)]
        metrics = [_number(version.metrics.get(name)) for name in names]
        created = version.created[:19]
        table.add_row(
            str(version.number),
            version.status,
            ", ".join(stages) or "-",
            version.sha256[:12],
            version.commit[:7] or "-",
            *metrics,
            created,
        )
    out.print(table)


def _print_deployment(done) -> None:
    out.print(f"bundle {done.bundle_uri}{' (uploaded)' if done.uploaded else ''}")
    print_stack_change(out, done.stack, f"stack {done.stack}", done.parameters, done.changes, done.action)
    for key, value in done.outputs.items():
        out.print(f"  {key} = {value}")


@contextmanager
def _byte_progress(label: str, total: int) -> Iterator:
    with Progress(TextColumn(label), BarColumn(), DownloadColumn(), TransferSpeedColumn(), console=err) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _size(path: Path) -> int:
    """Bytes of a bundle: a file, or a folder's files."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def _serves(parameters: dict[str, str], version: packages.Version) -> bool:
    """Whether a stage's stack parameters serve `version`."""
    if parameters.get("ModelPackageArn"):
        return parameters["ModelPackageArn"] == version.arn
    return bool(parameters) and parameters.get("ModelDataUrl") == version.bundle_uri


def _registered(model: str, endpoint_url: str | None) -> tuple[object, str, list[packages.Version]]:
    """A SageMaker client, MODEL's package group and its registered versions."""
    registry.folder(model)
    config = aws.load(endpoint_url)
    sagemaker, group = aws.client(config, "sagemaker"), config.group_name(model)
    return sagemaker, group, packages.versions(sagemaker, group)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
