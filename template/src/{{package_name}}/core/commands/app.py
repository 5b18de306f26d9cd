"""The project CLI: train, bundle, serve and smoke-test models, take them live, and build data sets."""

from __future__ import annotations

import typer

from . import bootstrap, data, models, release, runs, serving, training
from .console import OneLineUsageErrors

app = typer.Typer(help=__doc__, cls=OneLineUsageErrors, no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(data.app, name="data")
app.add_typer(models.app, name="models")
app.command(name="config")(training.show_config)
app.command(name="runs")(runs.list_runs)
for command in (training.train, serving.bundle, serving.serve, serving.smoke, bootstrap.bootstrap):
    app.command()(command)
for command in (release.promote, release.approve, release.deploy, release.invoke):
    app.command()(command)
