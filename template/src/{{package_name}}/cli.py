"""The project CLI: train, bundle, serve, smoke-test and deploy the models of this project."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Column, Table

from . import bootstrap_cli, data_cli, settings
from .cli_errors import EndpointUrlOpt, err, user_errors
from .core import (
    aws,
    changes,
    client,
    codecs,
    config,
    contract,
    environment,
    fingerprint,
    local_endpoint,
    packages,
    promotion,
    registry,
    remote,
    runs,
    serving,
    staging,
)
from .core import bundle as bundles
from .core import deploy as deploying
from .core.errors import ProjectError

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(data_cli.app, name="data")
app.command()(bootstrap_cli.bootstrap)
out = Console()

ModelArg = Annotated[str, typer.Argument(help="Model name (see the `models` command).", show_default=False)]
RunOpt = Annotated[str | None, typer.Option("--run", help="Run id under runs/<model>/ (default: the latest).")]
BestOpt = Annotated[
    str | None, typer.Option("--best", help="Take the run with the best final value of this metric (see `runs`).")
]
GoalOpt = Annotated[
    str | None,
    typer.Option("--goal", help="min or max: whether lower or higher is better (default: from the model's contract)."),
]
Overrides = Annotated[
    list[str] | None, typer.Argument(help="Config overrides, e.g. trainer.max_epochs=5 optimizer.lr=0.001.")
]


models_app = typer.Typer(help="List the models; `models history MODEL` lists a model's registered versions.")
app.add_typer(models_app, name="models")


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


@models_app.command()
def history(model: ModelArg, endpoint_url: EndpointUrlOpt = None) -> None:
    """List MODEL's registered versions, oldest first: status, where each is live, the metrics it was gated on."""
    with user_errors():
        registry.folder(model)
        settings_in_force = aws.load(endpoint_url)
        group = settings_in_force.group_name(model)
        found = packages.versions(aws.client(settings_in_force, "sagemaker"), group)
        live = {stage: deploying.live_parameters(settings_in_force, model, stage) for stage in settings.STAGES}
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


@app.command(name="config")
def show_config(model: ModelArg, overrides: Overrides = None) -> None:
    """Print MODEL's config as training would resolve it: config.yaml, then overrides, checked against its schema."""
    with user_errors():
        resolved = _model_config(model, list(overrides or []))
    print(config.to_yaml(resolved), end="")


@app.command(name="runs")
def list_runs(
    model: ModelArg,
    sort: Annotated[
        str | None, typer.Option("--sort", help="Rank by this metric instead of the model's goal metric.")
    ] = None,
    goal: GoalOpt = None,
    all_runs: Annotated[bool, typer.Option("--all", help="Oldest first, including runs without the metric.")] = False,
) -> None:
    """List MODEL's finished runs, best first by its goal metric: metrics, the params that vary, commit, tracker run."""
    with user_errors():
        metric, direction = _ranking(model, sort, goal)
        found = runs.summaries(model) if all_runs else runs.ranked(model, metric, direction)
    if not found:
        out.print(f"model '{model}' has no finished run{'' if all_runs else ' with ' + metric} yet")
        return
    names = [metric, *sorted({name for run in found for name in run.metrics} - {metric})]
    params = runs.varying_params(found)
    headers = [f"{metric} ({direction})", *names[1:], *params]
    numbers = [Column(header, justify="right", overflow="fold") for header in headers]
    run_column = Column("run", no_wrap=True, min_width=max(len(run.path.name) for run in found))
    table = Table(run_column, *numbers, Column("data", no_wrap=True), Column("commit", no_wrap=True), "tracker run")
    for index, run in enumerate(found):
        metrics = [_number(run.metrics.get(name)) for name in names]
        values = [str(column[index]) for column in params.values()]
        data = fingerprint.shown(run.provenance)
        table.add_row(run.path.name, *metrics, *values, data, _commit(run.provenance), _tracker_run(run.provenance))
    out.print(table)


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
    with user_errors():
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
        result = _resume(model, resume, overrides) if resume else registry.module(model, "train").main(overrides)
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
        path = _bundle(model, _pick_run(model, run, best, goal), out_path, compression)
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
) -> None:
    """Serve a bundle locally with the SageMaker endpoint contract (/ping, /invocations)."""
    with user_errors():
        if (model is None) == (bundle_path is None):
            raise ProjectError("give either a MODEL or --bundle PATH")
        path = bundle_path or _bundle(model, runs.find_run(model, run), None)
        with local_endpoint.running(path, host, port) as (url, process):
            out.print(f"serving {path} at [bold]{url}[/bold] (Ctrl-C stops)")
            with suppress(KeyboardInterrupt):
                process.wait()


@app.command()
def smoke(model: ModelArg, overrides: Overrides = None) -> None:
    """Train MODEL, bundle it, serve the bundle and print its answers to the example requests of its contract."""
    with user_errors():
        declared = contract.of(model)
        result = registry.module(model, "train").main(list(overrides or []))
        run_dir = result.paths.model_dir
        path = bundles.build(model, run_dir, run_dir / "model.tar.gz")
        out.print(f"trained {run_dir}\n  {_format(result.metrics)}\nbundled {path}")
        examples = declared.examples(run_dir, 5)
        with local_endpoint.running(path, "127.0.0.1", client.free_port()) as (url, _):
            answers = [client.invoke(url, example.body, example.content_type) for example in examples]
        for answer in answers:
            if answer.status != 200:
                raise ProjectError(f"the endpoint answered {answer.status}: {answer.body.decode()}")
        predictions = [answer.json()["predictions"][0] for answer in answers]
        _print_predictions(declared, examples, predictions)


@app.command()
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
        candidate = promotion.prepare(model, _pick_run(model, run, best, goal), compression)
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


@app.command()
def approve(
    model: ModelArg,
    version: Annotated[int, typer.Option("--version", help="The registered version to approve for prod.")],
    note: Annotated[str, typer.Option(help="Why it is approved (kept with the version).")] = "approved with the CLI",
    endpoint_url: EndpointUrlOpt = None,
) -> None:
    """Approve a registered version of MODEL: prod deploys the newest approved version."""
    with user_errors():
        registry.folder(model)
        settings_in_force = aws.load(endpoint_url)
        sagemaker, group = aws.client(settings_in_force, "sagemaker"), settings_in_force.group_name(model)
        chosen = packages.choose(packages.versions(sagemaker, group), group, version, approved_only=False)
        approved = packages.approve(sagemaker, chosen, note)
    out.print(f"{model} version {approved.number} is {approved.status}")


@app.command()
def deploy(
    model: ModelArg,
    stage: Annotated[str, typer.Option(help=f"Stage to deploy to ({', '.join(settings.STAGES)}).")] = settings.STAGES[
        0
    ],
    version: Annotated[
        int | None,
        typer.Option(
            "--version", help="Registered version (default: the newest; for the last stage, the newest approved)."
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the parameters and change set only.")] = False,
    endpoint_url: EndpointUrlOpt = None,
) -> None:
    """Put a registered version of MODEL live on a stage: create or update its endpoint stack (nothing is rebuilt)."""
    with user_errors():
        if stage not in settings.STAGES:
            raise ProjectError(f"unknown stage '{stage}' (stages: {', '.join(settings.STAGES)})")
        serving_settings = _model_config(model, []).deploy
        settings_in_force = aws.load(endpoint_url)
        sagemaker, group = aws.client(settings_in_force, "sagemaker"), settings_in_force.group_name(model)
        approved_only = stage == settings.STAGES[-1]
        chosen = packages.choose(packages.versions(sagemaker, group), group, version, approved_only)
        done = deploying.deploy_version(model, chosen, stage, serving_settings, endpoint_url, dry_run)
    out.print(f"{model} version {chosen.number} ({chosen.status}, sha256 {chosen.sha256[:12]})")
    _print_deployment(done)


@app.command()
def invoke(
    model: ModelArg,
    data_file: Annotated[
        Path,
        typer.Option(
            "--data", help="Request body (a .json, .jsonl, .csv, .txt, .npy, .png or .jpg file).", exists=True
        ),
    ],
    stage: Annotated[str, typer.Option(help="Stage whose endpoint to call.")] = settings.STAGES[0],
    content_type: Annotated[str | None, typer.Option(help="Default: from the file's extension.")] = None,
    endpoint_url: EndpointUrlOpt = None,
) -> None:
    """Call MODEL's deployed endpoint with a request body from a file."""
    with user_errors():
        registry.folder(model)
        kind = content_type or codecs.media_type_of(data_file)
        endpoint = aws.load(endpoint_url).endpoint_name(model, stage)
        endpoint_type = _model_config(model, []).deploy.endpoint_type  # async endpoints answer through S3
        request = (data_file.read_bytes(), kind, "application/json")
        body, _ = remote.invoke(endpoint, *request, endpoint_url, endpoint_type, model)
    print(body.decode(errors="replace"))


def _print_deployment(done) -> None:
    out.print(f"bundle {done.bundle_uri}{' (uploaded)' if done.uploaded else ''}")
    table = Table("parameter", "value", title=f"stack {done.stack}")
    for key, value in done.parameters.items():
        table.add_row(key, value)
    out.print(table)
    if done.changes:
        changes = Table("action", "resource", "type", title="change set")
        for change in done.changes:
            changes.add_row(*change)
        out.print(changes)
    verdicts = {"DRY-RUN": "dry run: nothing executed", "NONE": "no changes", "CREATE": "created", "UPDATE": "updated"}
    out.print(f"stack {done.stack}: {verdicts[done.action]}")
    for key, value in done.outputs.items():
        out.print(f"  {key} = {value}")


@contextmanager
def _byte_progress(label: str, total: int) -> Iterator:
    with Progress(TextColumn(label), BarColumn(), DownloadColumn(), TransferSpeedColumn(), console=err) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _model_config(model: str, overrides: list[str]):
    return config.load(registry.module(model, "model").Config, registry.folder(model) / "config.yaml", overrides)


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
    return staging.run_local_job(model, _model_config(model, overrides), _hyperparameters(overrides))


def _remote_training(model: str, overrides: list[str], wait: bool, endpoint_url: str | None) -> None:
    run_config = _model_config(model, overrides)
    job = remote.launch_training(model, run_config, _hyperparameters(overrides), endpoint_url)
    resources = run_config.remote
    spot = ", spot" if resources.spot else ""
    out.print(f"training job [bold]{job}[/bold] created ({resources.instance_count} x {resources.instance_type}{spot})")
    if wait:
        run_dir = remote.fetch_model(model, remote.wait_for_training(job, endpoint_url), endpoint_url)
        out.print(f"job finished; its model is the run [bold]{run_dir}[/bold]")


def _pick_run(model: str, run: str | None, best: str | None, goal: str | None) -> Path:
    registry.folder(model)  # an unknown model is named as such, not as one without runs
    if run and best:
        raise ProjectError("give --run or --best, not both")
    if goal and not best:
        raise ProjectError("--goal needs --best METRIC")
    return runs.best_run(model, *_ranking(model, best, goal)) if best else runs.find_run(model, run)


def _ranking(model: str, metric: str | None, goal: str | None) -> tuple[str, str]:
    """The metric to rank MODEL's runs by (default: its goal) and its direction (default: from its contract)."""
    declared = contract.of(model)
    metric = metric or declared.goal.metric
    return metric, goal or declared.direction(metric)


def _bundle(model: str, run_dir: Path, out_path: Path | None, compression: str = "gzip") -> Path:
    default = run_dir / ("model" if compression == "none" else "model.tar.gz")
    return bundles.build(model, run_dir, out_path or default, compression, progress=True)


def _print_predictions(declared: contract.Contract, examples: list, predictions: list[dict]) -> None:
    table = Table(Column("input", max_width=60), "expected", "predicted", title=f"task: {declared.task}")
    for example, prediction in zip(examples, predictions, strict=True):
        expected = "-" if example.expected is None else str(example.expected)
        table.add_row(escape(example.shown), escape(expected), escape(declared.show(prediction)))
    out.print(table)


def _size(path: Path) -> int:
    """Bytes of a bundle: a file, or a folder's files."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def _serves(parameters: dict[str, str], version: packages.Version) -> bool:
    """Whether a stage's stack parameters serve `version`."""
    if parameters.get("ModelPackageArn"):
        return parameters["ModelPackageArn"] == version.arn
    return bool(parameters) and parameters.get("ModelDataUrl") == version.bundle_uri


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
