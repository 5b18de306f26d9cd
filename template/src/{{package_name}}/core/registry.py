"""The project's models: every sub-package of `<package>.models` with a `train.py`."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType

from .. import models
from .errors import ProjectError

MODELS_DIR = Path(models.__file__).parent
PACKAGE = models.__name__.split(".")[0]
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class UnknownModelError(ProjectError):
    """A model name that is not one of the project's models."""


def names() -> list[str]:
    """The names of all models in the project, sorted."""
    return sorted(p.parent.name for p in MODELS_DIR.glob("*/train.py") if _NAME.match(p.parent.name))


def folder(name: str) -> Path:
    """The source folder of model `name`."""
    if not _NAME.match(name) or not (MODELS_DIR / name / "train.py").is_file():
        known = ", ".join(names()) or "none"
        raise UnknownModelError(f"unknown model '{name}' (models: {known})")
    return MODELS_DIR / name


def module(name: str, part: str) -> ModuleType:
    """Import one module of model `name`, e.g. `module("classifier", "train")`."""
    folder(name)
    return importlib.import_module(f"{models.__name__}.{name}.{part}")
