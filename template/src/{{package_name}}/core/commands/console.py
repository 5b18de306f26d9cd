"""Where commands write: answers on stdout, progress and one-line errors or interruptions on stderr."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

import botocore.exceptions
import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from ..basics.errors import Interrupted, ProjectError, one_line, sigterm_as_interrupt

out = Console()
err = Console(stderr=True, soft_wrap=True)
# Click's usage error (typer may vendor Click, so it is found from a class typer exports).
UsageError = next(kind for kind in typer.BadParameter.__mro__ if kind.__name__ == "UsageError")


@contextmanager
def user_errors() -> Iterator[None]:
    """Report a ProjectError, or an AWS call that failed (unreachable, no credentials...), as one line; exit 2."""
    try:
        yield
    except ProjectError as error:
        fail(str(error))
    except botocore.exceptions.ClientError as error:
        details = error.response.get("Error", {})
        fail(f"AWS {error.operation_name}: {details.get('Code', 'Error')}: {details.get('Message', '')}")
    except botocore.exceptions.BotoCoreError as error:
        fail(f"AWS: {error}")


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


def fail(message: str) -> None:
    """Print `message` as one red line on stderr and exit 2."""
    error_line(message)
    raise typer.Exit(2) from None


def error_line(message: str) -> None:
    err.print(f"[red]error:[/red] {escape(one_line(message, limit=None))}", highlight=False)


class OneLineUsageErrors(TyperGroup):
    """The root command: a usage error (unknown option, bad choice, missing argument) is one line and exit 2 too."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except UsageError as error:
            if not standalone_mode:
                raise
            if not error.format_message():  # no arguments: the group's help is shown, that is all
                raise SystemExit(error.exit_code) from None
            command = error.ctx.command_path if error.ctx else self.name
            error_line(f"{error.format_message().replace('Value error, ', '')} (see `{command} --help`)")
            raise SystemExit(2) from None
        except typer.Abort:
            if not standalone_mode:
                raise
            err.print("aborted")
            raise SystemExit(1) from None
        if not standalone_mode:
            return code
        raise SystemExit(code if isinstance(code, int) else 0)
