"""The arguments and options commands share, with their choices as Enums."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ..basics import project
from ..bundling import bundle
from ..catalog import contract
from ..hosting import local_endpoint


def choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    """An Enum of `values` for typer to offer and check (each rule stays where its module states it)."""
    return Enum(name, {choice: choice for choice in values}, type=str)


Engine = choices("Engine", local_endpoint.ENGINES)  # builtin: our server; torchserve: what SageMaker runs
Compression = choices("Compression", bundle.COMPRESSIONS)
Direction = choices("Direction", contract.DIRECTIONS)
# The project's stages (a models repository's package is bound by the time commands are imported).
STAGES = tuple(project.settings().STAGES)
Stage = choices("Stage", STAGES)
FIRST_STAGE = Stage(STAGES[0])

ModelArg = Annotated[str, typer.Argument(help="Model name (see the `models` command).", show_default=False)]
Overrides = Annotated[
    list[str] | None, typer.Argument(help="Config overrides, e.g. trainer.max_epochs=5 optimizer.lr=0.001.")
]
RunOpt = Annotated[str | None, typer.Option("--run", help="Run id under runs/<model>/ (default: the latest).")]
BestOpt = Annotated[
    str | None, typer.Option("--best", help="Take the run with the best final value of this metric (see `runs`).")
]
GoalOpt = Annotated[
    Direction | None,
    typer.Option("--goal", help="Whether lower or higher is better (default: from the model's contract)."),
]
EngineOpt = Annotated[Engine, typer.Option(help="builtin: this project's server; torchserve: what SageMaker runs.")]
CompressionOpt = Annotated[
    Compression, typer.Option(help="gzip: model.tar.gz; none: an uncompressed bundle for an S3 prefix.")
]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Where to write (default: in the run folder).")]
StageOpt = Annotated[Stage, typer.Option(help="Stage to deploy to or call.")]
EndpointUrlOpt = Annotated[
    str | None, typer.Option("--endpoint-url", help="AWS endpoint (e.g. a local emulator); default: AWS itself.")
]


def value(choice: Enum | None) -> str | None:
    """The string an Enum option stands for (None when the option was not given)."""
    return None if choice is None else choice.value
