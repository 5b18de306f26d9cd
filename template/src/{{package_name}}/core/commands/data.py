"""Build data sets (here, or as SageMaker Processing jobs) and fingerprint data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..basics import fingerprint
from ..basics.errors import ProjectError
from ..jobs import datasets, processing
from . import printing
from .console import user_errors
from .options import EndpointUrlOpt

app = typer.Typer(help=__doc__, no_args_is_help=True)
out = Console(soft_wrap=True)


@app.command()
def build(
    name: Annotated[
        str, typer.Argument(help="Data set: data/NAME/build.py, or build_data.py in model NAME.", show_default=False)
    ],
    overrides: Annotated[
        list[str] | None,
        typer.Argument(help="With --remote: settings over data/NAME/config.yaml (remote.instance_type=ml.c5.xlarge)."),
    ] = None,
    remote: Annotated[bool, typer.Option("--remote", help="Build in a SageMaker Processing job.")] = False,
    out_path: Annotated[
        str | None,
        typer.Option(
            "--out",
            help="Empty folder or s3:// prefix to build into (default: data/built/NAME/; "
            "with --remote: s3://<bucket>/<prefix>/NAME/data/built/<job>/).",
        ),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="With --remote: wait for the job, then print the fingerprint.")
    ] = False,
    endpoint_url: EndpointUrlOpt = None,
) -> None:
    """Run data set NAME's build script (`python SCRIPT --out FOLDER`), then fingerprint what it wrote."""
    with user_errors():
        if overrides and not remote:
            raise ProjectError(f"settings ({' '.join(overrides)}) only apply to a --remote build")
        if wait and not remote:
            raise ProjectError("--wait only applies to a --remote build")
        if not remote:
            _print_built(datasets.build(name, out_path, endpoint_url))
            return
        job = processing.launch(name, out_path, list(overrides or []), endpoint_url)
        out.print(f"processing job [bold]{job.name}[/bold] created; it builds data set {name} into {job.output}")
        if wait:
            _print_built(processing.wait(job.name, endpoint_url))


@app.command(name="fingerprint")
def show_fingerprint(
    source: Annotated[str, typer.Argument(help="A file, a folder or an s3:// URI.", show_default=False)],
    endpoint_url: EndpointUrlOpt = None,
) -> None:
    """Print the fingerprint of SOURCE (as training runs record it), and whether it matches a build's manifest."""
    with user_errors():
        s3 = datasets.s3_client(endpoint_url) if source.startswith("s3://") else None
        found = fingerprint.of(source, s3)
    out.print(f"{found.short}  {found.files} files, {found.bytes} bytes  {found.value}", highlight=False)
    manifest = None if source.startswith("s3://") else fingerprint.read_manifest(Path(source))
    if manifest:
        same = manifest.get("fingerprint") == found.value
        verdict = "matches" if same else "[red]differs from[/red]"
        built = f"built {manifest.get('built_at')}, commit {printing.commit(manifest)}"
        out.print(f"{verdict} {fingerprint.MANIFEST} ({built})")


def _print_built(built: datasets.Built) -> None:
    manifest = built.manifest
    out.print(
        f"data set built in [bold]{built.location}[/bold]: {manifest['files']} files, {manifest['bytes']} bytes"
        f"\nfingerprint {manifest['short']}  ({manifest['fingerprint']})",
        highlight=False,
    )
