"""What the command modules share: one-line user errors on stderr, and the `--endpoint-url` option."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import botocore.exceptions
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


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(2) from None
