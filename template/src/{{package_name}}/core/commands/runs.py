"""`runs`: a model's runs, best first by its goal metric, with the params that vary between them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from ..basics import fingerprint
from ..catalog import run_summaries, runs, selection
from . import printing
from .console import out, user_errors
from .options import GoalOpt, ModelArg, value

SortOpt = Annotated[str | None, typer.Option("--sort", help="Rank by this metric instead of the model's goal metric.")]
AllOpt = Annotated[bool, typer.Option("--all", help="Every run, oldest first, with its status (unfinished runs too).")]


def list_runs(model: ModelArg, sort: SortOpt = None, goal: GoalOpt = None, all_runs: AllOpt = False) -> None:
    """List MODEL's finished runs, best first by its goal metric: metrics, the params that vary, commit, tracker run."""
    with user_errors():
        metric, direction = selection.ranking(model, sort, value(goal))
        found = (
            run_summaries.summaries(model, unfinished=True)
            if all_runs
            else run_summaries.ranked(model, metric, direction)
        )
        unfinished = len(runs.every_run(model)) - len(runs.list_runs(model))
    if not found:
        out.print(f"model '{model}' has no {'run' if all_runs else 'finished run with ' + metric} yet")
    else:
        _print_runs(found, metric, direction, all_runs)
    if unfinished and not all_runs:
        out.print(f"{unfinished} run(s) did not finish (failed, interrupted or running): see `runs {model} --all`")


def _print_runs(found: list[run_summaries.RunSummary], metric: str, direction: str, with_status: bool) -> None:
    names = [metric, *sorted({name for run in found for name in run.metrics} - {metric})]
    params = run_summaries.varying_params(found)
    headers = [f"{metric} ({direction})", *names[1:], *params]
    numbers = [Column(header, justify="right", overflow="fold") for header in headers]
    run_column = Column("run", no_wrap=True, min_width=max(len(run.path.name) for run in found))
    status = [Column("status", no_wrap=True)] if with_status else []
    table = Table(run_column, *status, *numbers, Column("data", no_wrap=True), Column("commit", no_wrap=True))
    table.add_column("tracker run")
    for index, run in enumerate(found):
        metrics = [printing.number(run.metrics.get(name)) for name in names]
        values = [str(column[index]) for column in params.values()]
        state = [run.status] if with_status else []
        provenance = run.provenance
        shown = (fingerprint.shown(provenance), printing.commit(provenance), _tracker_run(provenance))
        table.add_row(run.path.name, *state, *metrics, *values, *shown)
    out.print(table)
    for run in found if with_status else []:
        if run.error:
            out.print(f"{run.path.name} {run.status}: {escape(run.error)}", highlight=False)


def _tracker_run(provenance: dict) -> str:
    """The run id the backend recorded (`<backend>_run_id` in run.json)."""
    return provenance.get(f"{provenance.get('tracking')}_run_id") or "-"
