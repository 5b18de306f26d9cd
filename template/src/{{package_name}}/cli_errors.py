"""What the command modules share: one-line user errors on stderr, interruptions, and the `--endpoint-url` option."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import botocore.exceptions
import typer
from rich.console import Console
from rich.markup import escape

from .core.basics.errors import Interrupted, ProjectError, one_line, sigterm_as_interrupt

err = Console(stderr=True, soft_wrap=True)
EndpointUrlOpt = Annotated[
    str | None, typer.Option("--endpoint-url", help="AWS endpoint (e.g. a local emulator); default: AWS itself.")
]


@contextmanager
def user_errors() -> Iterator[None]:
    """Report a ProjectError, or an AWS call that failed (unreachable, no credentials...), as one line; exit 2."""
    try:
        yield
    except ProjectError as error:
        _fail(str(error))
    except botocore.exceptions.ClientError as error:
        details = error.response.get("Error", {})
        _fail(f"AWS {error.operation_name}: {details.get('Code', 'Error')}: {details.get('Message', '')}")
    except botocore.exceptions.BotoCoreError as error:
        _fail(f"AWS: {error}")


@contextmanager
def interruptible() -> Iterator[None]:
    """Ctrl-C or SIGTERM (`kill PID`) stops the block as an `Interrupted`: one line, exit 128 + the signal's number.

    Code inside sees the interruption as a KeyboardInterrupt, so it can record it and clean up
    (`runs.recording` marks the run interrupted).
    """
    try:
        with sigterm_as_interrupt():
            yield
    except KeyboardInterrupt as error:
        number = getattr(error, "signal", signal.SIGINT)
        message = str(error) if isinstance(error, Interrupted) else f"interrupted by {signal.Signals(number).name}"
        err.print(f"[yellow]stopped:[/yellow] {escape(message)}", highlight=False)
        raise typer.Exit(128 + number) from None


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {escape(one_line(message, limit=None))}", highlight=False)
    raise typer.Exit(2) from None
