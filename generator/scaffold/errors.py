"""Errors the CLI reports as one line, each kind with its own exit code."""

from __future__ import annotations

import ast
import re


class ScaffoldError(Exception):
    """A problem with the user's input; `exit_code` tells scripts which kind (each kind states its own)."""

    exit_code = 2

    def __init_subclass__(cls, exit_code: int, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.exit_code = exit_code


class InvalidInputError(ScaffoldError, exit_code=2):
    """A bad name, option or `--data` item."""


class DestinationError(ScaffoldError, exit_code=3):
    """A destination that exists already, or a folder that is not a generated project."""


class TemplateError(ScaffoldError, exit_code=4):
    """A template source or version that cannot be used."""


class RepositoryError(ScaffoldError, exit_code=5):
    """A project git repository that is not ready (e.g. uncommitted changes)."""


class ConflictError(ScaffoldError, exit_code=6):
    """An update that left conflicts for the user to resolve."""


def from_copier(error: Exception, vcs_ref: str | None) -> ScaffoldError:
    """A copier failure (it raises ValueError or CopierError) as the error that says what went wrong."""
    message = str(error)
    if message.startswith("Unknown revision"):
        return TemplateError(f"template version '{unknown_revision(error) or vcs_ref}' does not exist")
    if message.startswith(("Validation error", "Invalid choice")):
        return InvalidInputError(message)
    return TemplateError(f"copier: {message}")


def unknown_revision(error: Exception) -> str | None:
    """The version copier's "Unknown revision: 'v0.9'" names (the one asked for, or one an answers file records)."""
    found = re.fullmatch(r"Unknown revision: (?P<ref>'.*'|\".*\")", str(error), re.DOTALL)
    try:
        return ast.literal_eval(found["ref"]) if found else None
    except (ValueError, SyntaxError):
        return None
