"""What the command modules share: one-line user errors on stderr, and the `--endpoint-url` option."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from .core.errors import ProjectError

err = Console(stderr=True, soft_wrap=True)
EndpointUrlOpt = Annotated[
    str | None, typer.Option("--endpoint-url", help="AWS endpoint (e.g. a local emulator); default: AWS itself.")
]


@contextmanager
def user_errors() -> Iterator[None]:
    """Report a ProjectError as one line and exit 2, instead of a traceback."""
    try:
        yield
    except ProjectError as error:
        err.print(f"[red]error:[/red] {escape(str(error))}", highlight=False)
        raise typer.Exit(2) from None
