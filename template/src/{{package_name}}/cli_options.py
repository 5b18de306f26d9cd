"""What the command modules share: arguments and options, the model config and run they resolve, and
how a stack's change set is shown."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .core.basics import config
from .core.basics.errors import ProjectError
from .core.catalog import contract, registry, runs

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
EngineOpt = Annotated[
    str,
    typer.Option(help="builtin: this project's server; torchserve: TorchServe with SageMaker's handler service."),
]


def model_config(model: str, overrides: list[str] = ()):
    """MODEL's config: its config.yaml, then `overrides`, checked against its schema."""
    return config.load(registry.module(model, "model").Config, registry.folder(model) / "config.yaml", overrides)


def pick_run(model: str, run: str | None, best: str | None, goal: str | None) -> Path:
    """The run folder of MODEL that --run ID or --best METRIC [--goal] picks (default: the latest)."""
    registry.folder(model)  # an unknown model is named as such, not as one without runs
    if run and best:
        raise ProjectError("give --run or --best, not both")
    if goal and not best:
        raise ProjectError("--goal needs --best METRIC")
    return runs.best_run(model, *ranking(model, best, goal)) if best else runs.find_run(model, run)


def ranking(model: str, metric: str | None, goal: str | None) -> tuple[str, str]:
    """The metric to rank MODEL's runs by (default: its goal) and its direction (default: from its contract)."""
    declared = contract.of(model)
    metric = metric or declared.goal.metric
    return metric, goal or declared.direction(metric)


VERDICTS = {"DRY-RUN": "dry run: nothing executed", "NONE": "no changes", "CREATE": "created", "UPDATE": "updated"}


def print_stack_change(out: Console, stack: str, title: str, parameters: dict, changes: list, action: str) -> None:
    """A stack's parameters, its change set and what became of it (deploy, bootstrap)."""
    table = Table("parameter", "value", title=title)
    for key, value in parameters.items():
        table.add_row(key, value)
    out.print(table)
    if changes:
        listed = Table("action", "resource", "type", title="change set")
        for change in changes:
            listed.add_row(*change)
        out.print(listed)
    out.print(f"stack {stack}: {VERDICTS[action]}")
