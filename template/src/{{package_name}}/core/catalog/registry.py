"""The project's models: every sub-package of `<project package>.models` with a `train.py`.

Model folders are looked up on the package path of that `models` package, so a folder added to
that path (the core tests add a probe model of their own this way) is a model like any other.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType

from ..basics import project
from ..basics.errors import ProjectError

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class UnknownModelError(ProjectError):
    """A model name that is not one of the project's models."""


def names() -> list[str]:
    """The names of all models in the project, sorted."""
    return sorted(_folders())


def folder(name: str) -> Path:
    """The source folder of model `name`."""
    found = _folders().get(name) if _NAME.match(name) else None
    if found is None:
        known = ", ".join(names()) or "none"
        raise UnknownModelError(f"unknown model '{name}' (models: {known})")
    return found


def module(name: str, part: str) -> ModuleType:
    """Import one module of model `name`, e.g. `module("classifier", "train")`."""
    folder(name)
    return import_part(name, part)


def import_part(name: str, part: str) -> ModuleType:
    """Import one module of a model already found (see `model.Model`)."""
    return importlib.import_module(f"{project.package()}.models.{name}.{part}")


def _folders() -> dict[str, Path]:
    """Model name -> folder, over every entry of the models package path (the first one wins)."""
    found: dict[str, Path] = {}
    for root in map(Path, project.models().__path__):
        for entry in sorted(root.glob("*/train.py")):
            if _NAME.match(entry.parent.name):
                found.setdefault(entry.parent.name, entry.parent)
    return found
