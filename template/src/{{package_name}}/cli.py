"""The project CLI: train, bundle, serve and smoke-test models (going live: release_cli.py; data sets: data_cli.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from . import bootstrap_cli, data_cli, release_cli
from .cli_errors import EndpointUrlOpt, interruptible, user_errors
from .cli_options import BestOpt, EngineOpt, GoalOpt, ModelArg, Overrides, RunOpt, model_config, pick_run, ranking
from .core import bundle as bundles
from .core import (
    changes,
    client,
    config,
    contract,
    environment,
    fingerprint,
    local_endpoint,
    registry,
    remote,
    runs,
    serving,
    staging,
)
from .core.errors import ProjectError, sigterm_as_interrupt

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(data_cli.app, name="data")
app.command()(bootstrap_cli.bootstrap)
out = Console()


models_app = typer.Typer(help="List the models; `models history MODEL` lists a model's registered versions.")
app.add_typer(models_app, name="models")
models_app.command()(release_cli.history)


@models_app.callback(invoke_without_command=True)
def models(
    context: typer.Context,
    plain: Annotated[bool, typer.Option("--plain", help="Print only the names, one per line.")] = False,
    changed_since: Annotated[
        str | None, typer.Option(help="Print, as a JSON list, the models a git change since this revision touches.")
    ] = None,
) -> None:
    """List the models, each with its latest run and that run's validation metrics."""
    if context.invoked_subcommand:
        return
    if changed_since:
        with user_errors():
            print(json.dumps(changes.changed_models(changed_since)))
        return
    if plain:
        print("\n".join(registry.names()))
        return
    table = Table("model", "task", "goal", "runs", "latest run", "metrics")
    undeclared = []
    for name in registry.names():
        with user_errors():
            declared = contract.of(name)
        if not contract.has_contract(name):
            undeclared.append(name)
        finished = runs.list_runs(name)
        latest = finished[-1] if finished else None
        goal = f"{declared.goal.metric} ({declared.goal.direction})"
        table.add_row(name, declared.task, goal, str(len(finished)), latest.name if latest else "-", _metrics(latest))
    out.print(table)
    if undeclared:
        out.print(
            f"{', '.join(undeclared)}: no contract.py, so taken for a tabular classifier judged by val_accuracy; "
            "declare one as the starters do (docs: Models of every kind)"
        )


@app.command(name="config")
def show_config(model: ModelArg, overrides: Overrides = None) -> None:
    """Print MODEL's config as training would resolve it: config.yaml, then overrides, checked against its schema."""
    with user_errors():
        resolved = model_config(model, list(overrides or []))
    print(config.to_yaml(resolved), end="")


@app.command(name="runs")
def list_runs(
    model: ModelArg,
    sort: Annotated[
        str | None, typer.Option("--sort", help="Rank by this metric instead of the model's goal metric.")
    ] = None,
    goal: GoalOpt = None,
    all_runs: Annotated[
        bool, typer.Option("--all", help="Every run, oldest first, with its status (unfinished runs too).")
    ] = False,
) -> None:
    """List MODEL's finished runs, best first by its goal metric: metrics, the params that vary, commit, tracker run."""
    with user_errors():
        metric, direction = ranking(model, sort, goal)
        found = runs.summaries(model, unfinished=True) if all_runs else runs.ranked(model, metric, direction)
        unfinished = len(runs.every_run(model)) - len(runs.list_runs(model))
    if not found:
        out.print(f"model '{model}' has no {'run' if all_runs else 'finished run with ' + metric} yet")
    else:
        _print_runs(found, metric, direction, all_runs)
    if unfinished and not all_runs:
        out.print(f"{unfinished} run(s) did not finish (failed, interrupted or running): see `runs {model} --all`")


def _print_runs(found: list[runs.RunSummary], metric: str, direction: str, with_status: bool) -> None:
    names = [metric, *sorted({name for run in found for name in run.metrics} - {metric})]
    params = runs.varying_params(found)
    headers = [f"{metric} ({direction})", *names[1:], *params]
    numbers = [Column(header, justify="right", overflow="fold") for header in headers]
    run_column = Column("run", no_wrap=True, min_width=max(len(run.path.name) for run in found))
    status = [Column("status", no_wrap=True)] if with_status else []
    table = Table(run_column, *status, *numbers, Column("data", no_wrap=True), Column("commit", no_wrap=True))
    table.add_column("tracker run")
    for index, run in enumerate(found):
        metrics = [_number(run.metrics.get(name)) for name in names]
        values = [str(column[index]) for column in params.values()]
        data = fingerprint.shown(run.provenance)
        state = [run.status] if with_status else []
        table.add_row(
            run.path.name, *state, *metrics, *values, data, _commit(run.provenance), _tracker_run(run.provenance)
        )
    out.print(table)
    for run in found if with_status else []:
        if run.error:
            out.print(f"{run.path.name} {run.status}: {escape(run.error)}", highlight=False)


@app.command()
def train(
    model: ModelArg,
    overrides: Overrides = None,
    sagemaker_local: Annotated[
        bool,
        typer.Option(
            "--sagemaker-local",
            help="Run as a SageMaker training job would: /opt/ml tree, SM_* environment, remote.instance_count hosts.",
        ),
    ] = False,
    stage: Annotated[
        Path | None, typer.Option("--stage", help="Only write the job's source_dir (entry point, package) here.")
    ] = None,
    remote: Annotated[bool, typer.Option("--remote", help="Launch a SageMaker training job.")] = False,
    resume: Annotated[
        str | None,
        typer.Option("--resume", help="Go on with this run (id under runs/MODEL/) from its last checkpoint."),
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="With --remote: wait, then fetch the model as a run.")] = False,
    endpoint_url: EndpointUrlOpt = None,
) -> None:
    """Train MODEL from its config.yaml plus overrides; the run lands in runs/MODEL/<run-id>/."""
    with user_errors(), interruptible():
        overrides = list(overrides or [])
        if remote:
            _remote_training(model, overrides, wait, endpoint_url)
            return
        if stage:
            out.print(f"training job source_dir written to [bold]{staging.stage(model, stage)}[/bold]")
            return
        if sagemaker_local:
            run_dir = _local_job(model, overrides)
            out.print(f"job finished; its model and output are in [bold]{run_dir}[/bold]")
            return
        result = _resume(model, resume, overrides) if resume else _train(model, overrides)
    stopped = f"stopped early after epoch {result.epochs}; " if getattr(result, "stopped_early", False) else ""
    out.print(f"run saved to [bold]{result.paths.model_dir}[/bold]  {stopped}{_format(result.metrics)}")


@app.command()
def bundle(
    model: ModelArg,
    run: RunOpt = None,
    best: BestOpt = None,
    goal: GoalOpt = None,
    out_path: Annotated[Path | None, typer.Option("--out", help="Where to write (default: in the run folder).")] = None,
    compression: Annotated[
        str, typer.Option(help="gzip: model.tar.gz; none: the same layout as a folder, for an S3 prefix.")
    ] = "gzip",
) -> None:
    """Package a run of MODEL (the latest, --run ID or --best METRIC) for SageMaker's PyTorch serving containers."""
    with user_errors():
        path = _bundle(model, pick_run(model, run, best, goal), out_path, compression)
    out.print(f"bundle written to [bold]{path}[/bold]")


@app.command()
def serve(
    model: Annotated[str | None, typer.Argument(help="Model whose run to serve.", show_default=False)] = None,
    bundle_path: Annotated[
        Path | None, typer.Option("--bundle", help="Serve this model.tar.gz (or bundle folder) instead.")
    ] = None,
    run: RunOpt = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Port to listen on.", envvar="SAGEMAKER_BIND_TO_PORT")
    ] = serving.DEFAULT_PORT,
    engine: EngineOpt = "builtin",
) -> None:
    """Serve a bundle locally with the SageMaker endpoint contract (/ping, /invocations)."""
    with user_errors():
        if (model is None) == (bundle_path is None):
            raise ProjectError("give either a MODEL or --bundle PATH")
        local_endpoint.check_engine(engine)
        local_endpoint.check_port(host, port)
        try:
            with sigterm_as_interrupt():
                path = bundle_path or _bundle(model, runs.find_run(model, run), None)
                with local_endpoint.running(path, host, port, engine) as (url, process):
                    out.print(f"serving {path} with {engine} at [bold]{url}[/bold] (Ctrl-C stops)")
                    code = process.wait()
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the server is stopped and its folder removed
            out.print("stopped")
            return
        raise ProjectError(f"the server stopped by itself (exit code {code})")


@app.command()
def smoke(model: ModelArg, overrides: Overrides = None, engine: EngineOpt = "builtin") -> None:
    """Train MODEL, bundle it, serve the bundle and print its answers to the example requests of its contract."""
    with user_errors():
        local_endpoint.check_engine(engine)
        declared = contract.of(model)
        result = registry.module(model, "train").main(list(overrides or []))
        run_dir = result.paths.model_dir
        path = bundles.build(model, run_dir, run_dir / "model.tar.gz")
        out.print(f"trained {run_dir}\n  {_format(result.metrics)}\nbundled {path}")
        examples = declared.examples(run_dir, 5)
        with local_endpoint.running(path, "127.0.0.1", client.free_port(), engine) as (url, _):
            answers = [client.invoke(url, example.body, example.content_type) for example in examples]
        for answer in answers:
            if answer.status != 200:
                raise ProjectError(f"the endpoint answered {answer.status}: {answer.body.decode(errors='replace')}")
        predictions = [answer.json()["predictions"][0] for answer in answers]
        _print_predictions(declared, examples, predictions)


for command in (release_cli.promote, release_cli.approve, release_cli.deploy, release_cli.invoke):
    app.command()(command)


def _train(model: str, overrides: list[str]):
    """A new run of MODEL; a run folder an error leaves empty is removed."""
    main = registry.module(model, "train").main
    with runs.no_empty_runs(model):
        return main(overrides)


def _resume(model: str, run_id: str, overrides: list[str]):
    """Train on in run `run_id` with the config it started with (plus `overrides`, e.g. more epochs)."""
    run_dir = runs.resumable_run(model, run_id)
    with environment.resuming(run_dir):
        return registry.module(model, "train").main([*runs.resume_overrides(run_dir), *overrides])


def _hyperparameters(overrides: list[str]) -> dict[str, str]:
    """Overrides as a training job's hyperparameters: {"trainer.max_epochs": "5"}."""
    return dict(item.split("=", 1) for item in config.normalize_overrides(overrides))


def _local_job(model: str, overrides: list[str]) -> Path:
    """Run MODEL's training job as a local stand-in for SageMaker, on `remote.instance_count` local hosts."""
    return staging.run_local_job(model, model_config(model, overrides), _hyperparameters(overrides))


def _remote_training(model: str, overrides: list[str], wait: bool, endpoint_url: str | None) -> None:
    run_config = model_config(model, overrides)
    job = remote.launch_training(model, run_config, _hyperparameters(overrides), endpoint_url)
    resources = run_config.remote
    spot = ", spot" if resources.spot else ""
    out.print(f"training job [bold]{job}[/bold] created ({resources.instance_count} x {resources.instance_type}{spot})")
    if wait:
        run_dir = remote.fetch_model(model, remote.wait_for_training(job, endpoint_url), endpoint_url)
        out.print(f"job finished; its model is the run [bold]{run_dir}[/bold]")


def _bundle(model: str, run_dir: Path, out_path: Path | None, compression: str = "gzip") -> Path:
    default = run_dir / ("model" if compression == "none" else "model.tar.gz")
    return bundles.build(model, run_dir, out_path or default, compression, progress=True)


def _print_predictions(declared: contract.Contract, examples: list, predictions: list[dict]) -> None:
    table = Table(Column("input", max_width=60), "expected", "predicted", title=f"task: {declared.task}")
    for example, prediction in zip(examples, predictions, strict=True):
        expected = "-" if example.expected is None else str(example.expected)
        table.add_row(escape(example.shown), escape(expected), escape(declared.show(prediction)))
    out.print(table)


def _metrics(run_dir: Path | None) -> str:
    path = run_dir / runs.METRICS if run_dir else None
    return _format(json.loads(path.read_text())) if path and path.is_file() else "-"


def _number(value: object) -> str:
    if isinstance(value, int):
        return str(value)
    return f"{value:.4f}" if isinstance(value, float) else "-"


def _commit(provenance: dict) -> str:
    commit = provenance.get("git_commit")
    return f"{commit[:7]}{'+dirty' if provenance.get('git_dirty') else ''}" if commit else "-"


def _tracker_run(provenance: dict) -> str:
    """The run id the backend recorded (`<backend>_run_id` in run.json)."""
    return provenance.get(f"{provenance.get('tracking')}_run_id") or "-"


def _format(metrics: dict) -> str:
    return " ".join(f"{k}={v}" if isinstance(v, int) else f"{k}={v:.4f}" for k, v in metrics.items())
