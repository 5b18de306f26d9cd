"""`scaffold`: create ML projects from the sagescaffold template and grow them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import __version__, adopting, answers, copying, core_pin, scratch, signals, updating, versions
from .errors import ScaffoldError

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
out = Console()
err = Console(stderr=True, soft_wrap=True)

DataOpt = Annotated[
    list[str] | None, typer.Option("--data", "-d", help="An answer as key=value (repeatable), e.g. tracking=none.")
]
RefOpt = Annotated[str | None, typer.Option("--vcs-ref", help="Template version (git tag or commit).")]
ProjectOpt = Annotated[Path, typer.Option("--project", "-p", help="The generated project's folder.")]


@contextmanager
def reported() -> Iterator[None]:
    """Turn a ScaffoldError, or a stopping signal, into one line on stderr and its exit code."""
    try:
        with scratch.folder():
            yield
    except ScaffoldError as error:
        err.print(f"[red]error:[/red] {escape(str(error))}", highlight=False)
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt as interrupt:  # Ctrl-C, or `kill` (see signals.py); clean-up has run
        name = signals.describe(interrupt)
        err.print(f"stopped: {name} received; nothing was left half-done", highlight=False)
        raise typer.Exit(signals.exit_code(interrupt)) from None


def _version(value: bool) -> None:
    if value:
        out.print(f"scaffold {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Create ML projects from the sagescaffold template and grow them."""
    ctx.call_on_close(signals.install())


@app.command()
def new(
    dest: Annotated[Path, typer.Argument(help="Folder to create (must not exist, or be empty).", show_default=False)],
    data: DataOpt = None,
    vcs_ref: RefOpt = None,
    template: Annotated[str | None, typer.Option(help="Template path or git URL (default: this checkout).")] = None,
) -> None:
    """Render a new project (copier copy of the template) with its first model."""
    with reported():
        project = copying.new_project(dest, copying.resolve_source(template), copying.parse_data(data or []), vcs_ref)
        out.print(f"created [bold]{project}[/bold]")


@app.command("add-model")
def add_model(
    name: Annotated[str, typer.Argument(help="Model name: a Python identifier, e.g. churn.", show_default=False)],
    project: ProjectOpt = Path("."),
    starter: Annotated[
        str | None,
        typer.Option(
            help="What kind of model to start from: tabular-classifier (default), tabular-regressor, "
            "image-classifier or text-classifier (the template's `starter` question)."
        ),
    ] = None,
    data: DataOpt = None,
    vcs_ref: RefOpt = None,
) -> None:
    """Add a model folder (config, contract, model, train, inference, sample data, tests) to a generated project."""
    with reported():
        answers = copying.set_once(copying.parse_data(data or []), "starter", starter)
        folder = copying.add_model(project, name, answers, vcs_ref)
        out.print(f"added model [bold]{name}[/bold] in {folder}")


@app.command()
def update(
    project: ProjectOpt = Path("."),
    vcs_ref: RefOpt = None,
    only: Annotated[str | None, typer.Option(help="Update only 'project' or this model.")] = None,
    template: Annotated[
        str | None,
        typer.Option(help="The template's new path or URL, if it moved: recorded in every answers file first."),
    ] = None,
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data", "-d", help="Change a project answer as key=value (repeatable), e.g. core_version=v0.2.0."
        ),
    ] = None,
) -> None:
    """Update the project, then every model, to the given or latest template version."""
    with reported():
        report = updating.update(project, vcs_ref, only, template, copying.parse_data(data or []))
        table = Table("part", "from", "to", "files changed", "conflicts", title="scaffold update")
        for step in report.steps:
            conflicts = ", ".join(step.conflicts) or "-"
            table.add_row(step.target, step.before, step.after or "?", str(len(step.changed)), conflicts)
        for name in report.orphans:
            table.add_row(name, "?", "-", "0", "not updated: no answers file")
        out.print(table)
        _hint_adopt(report.orphans)
        if error := updating.conflict_error(report.steps):
            raise error
        out.print("changes are staged: review them with `git diff --cached`, then commit")


@app.command("list")
def list_parts(project: ProjectOpt = Path(".")) -> None:
    """Show the template version of the project and of each model, and whether a newer one exists."""
    with reported():
        rows = versions.report(project)
        orphans = [row.target for row in rows if row.note == versions.NO_ANSWERS]
        rows += [core] if (core := core_pin.row(answers.open_project(project))) else []
        table = Table("part", "version", "latest", "update available")
        for row in rows:
            available = {True: "yes", False: "no", None: "?"}[row.update_available]
            table.add_row(row.target, row.note or row.current or "unknown", row.latest or "none tagged", available)
        out.print(table)
        _hint_adopt(orphans)


@app.command()
def adopt(
    name: Annotated[str, typer.Argument(help="A model folder without its answers file.", show_default=False)],
    project: ProjectOpt = Path("."),
    starter: Annotated[
        str | None,
        typer.Option(help="The starter the model was made from (default: the one whose files match the model's)."),
    ] = None,
    vcs_ref: Annotated[
        str | None, typer.Option("--vcs-ref", help="The template version it was made from (default: the project's).")
    ] = None,
) -> None:
    """Give a model folder that lost its answers file a new one, so `update` and `list` see it again."""
    with reported():
        written, made_from = adopting.adopt(project, name, starter, vcs_ref)
        found = "" if starter else f" (starter {made_from}: its files match that starter's best)"
        out.print(f"wrote {written}{found}: commit it, then `scaffold update --only {name}`")


def _hint_adopt(names: list[str]) -> None:
    for name in names:
        err.print(
            f"model '{name}' has no answers file, so updates skip it: "
            f"`scaffold adopt {name}` gives it one (add `--vcs-ref V` if it was made from another version than the "
            "project's)",
            highlight=False,
            markup=False,
        )
