"""`models`: the project's models with their latest runs, and `models history MODEL`: its registered versions."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from ..catalog import changes, overview, registry
from ..cloud import stages
from . import printing
from .console import out, user_errors
from .options import EndpointUrlOpt, ModelArg

app = typer.Typer(help="List the models; `models history MODEL` lists a model's registered versions.")

PlainOpt = Annotated[bool, typer.Option("--plain", help="Print only the names, one per line.")]
ChangedSinceOpt = Annotated[
    str | None, typer.Option(help="Print, as a JSON list, the models a git change since this revision touches.")
]


@app.callback(invoke_without_command=True)
def models(context: typer.Context, plain: PlainOpt = False, changed_since: ChangedSinceOpt = None) -> None:
    """List the models, each with its latest run and that run's validation metrics."""
    if context.invoked_subcommand:
        return
    with user_errors():
        if changed_since:
            print(json.dumps(changes.changed_models(changed_since)))
        elif plain:
            print("\n".join(registry.names()))
        else:
            _print_models(overview.models())


@app.command()
def history(model: ModelArg, endpoint_url: EndpointUrlOpt = None) -> None:
    """List MODEL's registered versions, oldest first: status, where each is live, the metrics it was gated on."""
    with user_errors():
        found = stages.history(model, endpoint_url)
    if not found.versions:
        out.print(f"{found.group} has no registered version yet: run `promote {model}`")
        return
    names = sorted({name for version in found.versions for name in version.metrics})
    table = Table("version", "status", "live on", "sha256", "commit", *names, "created", title=found.group)
    for version in found.versions:
        metrics = [printing.number(version.metrics.get(name)) for name in names]
        live = ", ".join(found.live[version.arn]) or "-"
        short = (version.sha256[:12], version.commit[:7] or "-")
        table.add_row(str(version.number), version.status, live, *short, *metrics, version.created[:19])
    out.print(table)


def _print_models(summaries: list[overview.ModelSummary]) -> None:
    table = Table("model", "task", "goal", "runs", "latest run", "metrics")
    for model in summaries:
        latest = model.latest.name if model.latest else "-"
        table.add_row(model.name, model.task, model.goal, str(model.runs), latest, printing.metrics(model.metrics))
    out.print(table)
    undeclared = [model.name for model in summaries if not model.declared]
    if undeclared:
        out.print(
            f"{', '.join(undeclared)}: no contract.py, so taken for a tabular classifier judged by val_accuracy; "
            "declare one as the starters do (docs: Models of every kind)"
        )
