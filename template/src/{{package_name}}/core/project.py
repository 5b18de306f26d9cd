"""The project this core library serves: the package that holds `settings` and `models`.

In a monorepo that is the core's own package. In a models repository (layout `models`) the core
is an installed dependency and the team's package binds itself when imported: its `__init__.py`
calls `bind(__name__)`. The CLI, a bundle's `code/inference.py` and a training job's `train.py`
all import the team's package first, so each finds the team's settings and models.
"""

from __future__ import annotations

import functools
import importlib
import os
from importlib import metadata
from types import ModuleType

CORE = __name__.split(".")[0]  # the core library's own package
VERSION_VARIABLE = "PROJECT_CORE_VERSION"  # the core version a job's launcher had installed
_bound: list[str] = []


def bind(package: str) -> None:
    """Serve `package`'s settings and models (a models repository's package calls this on import)."""
    _bound[:] = [package]


def package() -> str:
    """The import name of the project package: the bound one, else the core's own."""
    return _bound[0] if _bound else CORE


def settings() -> ModuleType:
    """The project's `settings` module."""
    return importlib.import_module(f"{package()}.settings")


def models() -> ModuleType:
    """The project's `models` package (one sub-package per model)."""
    return importlib.import_module(f"{package()}.models")


@functools.cache
def core_version() -> str | None:
    """The installed core distribution's version (a monorepo's is the project's own), or None when unknown.

    Code shipped into a job has no distribution metadata: there the launcher's version comes by
    `VERSION_VARIABLE`.
    """
    for distribution in metadata.packages_distributions().get(CORE, []):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return os.environ.get(VERSION_VARIABLE) or None
