"""`bundle`, `serve` and `smoke`: a run packaged for SageMaker, served here, and a model tried end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from ..basics.errors import ProjectError, sigterm_as_interrupt
from ..bundling import bundle as bundling
from ..catalog import runs, selection
from ..hosting import local_endpoint
from ..hosting import smoke as smoking
from ..inference import serving
from . import printing
from .console import out, user_errors
from .options import (
    BestOpt,
    Compression,
    CompressionOpt,
    Engine,
    EngineOpt,
    GoalOpt,
    ModelArg,
    OutOpt,
    Overrides,
    RunOpt,
    value,
)

ServedModelArg = Annotated[str | None, typer.Argument(help="Model whose run to serve.", show_default=False)]
BundleOpt = Annotated[Path | None, typer.Option("--bundle", help="Serve this model.tar.gz (or bundle folder) instead.")]
HostOpt = Annotated[str, typer.Option(help="Address to bind.")]
PortOpt = Annotated[int, typer.Option(help="Port to listen on.", envvar="SAGEMAKER_BIND_TO_PORT")]


def bundle(
    model: ModelArg,
    run: RunOpt = None,
    best: BestOpt = None,
    goal: GoalOpt = None,
    out_path: OutOpt = None,
    compression: CompressionOpt = Compression.gzip,
) -> None:
    """Package a run of MODEL (the latest, --run ID or --best METRIC) for SageMaker's PyTorch serving containers."""
    with user_errors():
        run_dir = selection.pick_run(model, run, best, value(goal))
        path = bundling.build_run(model, run_dir, out_path, value(compression))
    out.print(f"bundle written to [bold]{path}[/bold]")


def serve(
    model: ServedModelArg = None,
    bundle_path: BundleOpt = None,
    run: RunOpt = None,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = serving.DEFAULT_PORT,
    engine: EngineOpt = Engine.builtin,
) -> None:
    """Serve a bundle locally with the SageMaker endpoint contract (/ping, /invocations)."""
    with user_errors():
        if (model is None) == (bundle_path is None):
            raise ProjectError("give either a MODEL or --bundle PATH")
        local_endpoint.check_engine(engine.value)
        local_endpoint.check_port(host, port)
        try:
            with sigterm_as_interrupt():
                path = bundle_path or bundling.build_run(model, runs.find_run(model, run))
                with local_endpoint.running(path, host, port, engine.value) as (url, process):
                    out.print(f"serving {path} with {engine.value} at [bold]{url}[/bold] (Ctrl-C stops)")
                    code = process.wait()
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the server is stopped and its folder removed
            out.print("stopped")
            return
        raise ProjectError(f"the server stopped by itself (exit code {code})")


def smoke(model: ModelArg, overrides: Overrides = None, engine: EngineOpt = Engine.builtin) -> None:
    """Train MODEL, bundle it, serve the bundle and print its answers to the example requests of its contract."""
    with user_errors():
        done = smoking.smoke(model, list(overrides or []), engine.value)
    out.print(f"trained {done.run_dir}\n  {printing.metrics(done.metrics)}\nbundled {done.bundle}")
    table = Table(Column("input", max_width=60), "expected", "predicted", title=f"task: {done.declared.task}")
    for example, prediction in zip(done.examples, done.predictions, strict=True):
        expected = "-" if example.expected is None else str(example.expected)
        table.add_row(escape(example.shown), escape(expected), escape(done.declared.show(prediction)))
    out.print(table)
