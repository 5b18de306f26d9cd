"""Commands that take a model live: promote, approve, deploy and invoke."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from ..catalog import selection
from ..cloud import promotion, stages
from . import printing
from .console import err, out, user_errors
from .options import (
    FIRST_STAGE,
    BestOpt,
    Compression,
    CompressionOpt,
    EndpointUrlOpt,
    GoalOpt,
    ModelArg,
    RunOpt,
    StageOpt,
    value,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the registered version as JSON on stdout.")]
ApprovedVersionOpt = Annotated[int, typer.Option("--version", help="The registered version to approve for prod.")]
NoteOpt = Annotated[str, typer.Option(help="Why it is approved (kept with the version).")]
VersionOpt = Annotated[
    int | None,
    typer.Option("--version", help="Registered version (default: the newest; for prod, the newest approved)."),
]
RollbackOpt = Annotated[bool, typer.Option("--rollback", help="Allow a version older than the one the stage serves.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show the parameters and change set only.")]
DataFileOpt = Annotated[
    Path,
    typer.Option(
        "--data",
        help="Request body (a .json, .jsonl, .csv, .txt, .npy, .png or .jpg file).",
        exists=True,
        dir_okay=False,
    ),
]
ContentTypeOpt = Annotated[str | None, typer.Option(help="Default: from the file's extension.")]


def promote(
    model: ModelArg,
    run: RunOpt = None,
    best: BestOpt = None,
    goal: GoalOpt = None,
    compression: CompressionOpt = Compression.gzip,
    as_json: JsonOpt = False,
    endpoint_url: EndpointUrlOpt = None,
) -> None:
    """Gate a run of MODEL on its goal metric, bundle it, check it answers, upload it and register it as a version."""
    with user_errors():
        candidate = promotion.prepare(model, selection.pick_run(model, run, best, value(goal)), value(compression))
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
    version: ApprovedVersionOpt,
    note: NoteOpt = "approved with the CLI",
    endpoint_url: EndpointUrlOpt = None,
) -> None:
    """Approve a registered version of MODEL: prod deploys the newest approved version."""
    with user_errors():
        approved = stages.approve(model, version, note, endpoint_url)
    out.print(f"{model} version {approved.number} is {approved.status}")


def deploy(
    model: ModelArg,
    stage: StageOpt = FIRST_STAGE,
    version: VersionOpt = None,
    rollback: RollbackOpt = False,
    dry_run: DryRunOpt = False,
    endpoint_url: EndpointUrlOpt = None,
) -> None:
    """Put a registered version of MODEL live on a stage: create or update its endpoint stack (nothing is rebuilt)."""
    with user_errors():
        chosen, done = stages.deploy(model, stage.value, version, rollback, dry_run, endpoint_url)
    out.print(f"{model} version {chosen.number} ({chosen.status}, sha256 {chosen.sha256[:12]})")
    out.print(f"bundle {done.bundle_uri}{' (uploaded)' if done.uploaded else ''}")
    printing.stack_change(out, done.stack, f"stack {done.stack}", done.parameters, done.changes, done.action)
    for key, shown in done.outputs.items():
        out.print(f"  {key} = {shown}")


def invoke(
    model: ModelArg,
    data_file: DataFileOpt,
    stage: StageOpt = FIRST_STAGE,
    content_type: ContentTypeOpt = None,
    endpoint_url: EndpointUrlOpt = None,
) -> None:
    """Call MODEL's deployed endpoint with a request body from a file."""
    with user_errors():
        body = stages.invoke(model, stage.value, data_file, content_type, endpoint_url)
    print(body.decode(errors="replace"))


@contextmanager
def _byte_progress(label: str, total: int) -> Iterator:
    with Progress(TextColumn(label), BarColumn(), DownloadColumn(), TransferSpeedColumn(), console=err) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _size(path: Path) -> int:
    """Bytes of a bundle: a file, or a folder's files."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size
