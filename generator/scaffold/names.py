"""Model names: Python identifiers that cannot clash with the package's own modules."""

from __future__ import annotations

import keyword
import re

from .errors import InvalidInputError

RESERVED = frozenset({"core", "cli", "settings", "models", "tests", "probe"})  # probe: the core tests' model
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def check_model_name(name: str) -> str:
    """`name` if it can name a model package, else an error saying why not."""
    if not _IDENTIFIER.match(name):
        raise InvalidInputError(
            f"invalid model name '{name}': use lower-case letters, digits and '_', not starting with a digit"
        )
    if keyword.iskeyword(name):
        raise InvalidInputError(f"invalid model name '{name}': it is a Python keyword")
    if name in RESERVED or name.startswith("_"):
        raise InvalidInputError(f"invalid model name '{name}': it clashes with a module of the package")
    return name
