"""The project this core library serves: the package that holds `settings` and `models`.

In a monorepo that is the core's own package. In a models repository (layout `models`) the core
is an installed dependency and the team's package binds itself when imported: its `__init__.py`
calls `bind(__name__)`. The CLI, a bundle's `code/inference.py` and a training job's `train.py`
all import the team's package first, so each finds the team's settings and models. Binding also
makes `<team package>.core` the core's own `core` package, so model code imports
`from ...core import config` exactly as in a monorepo and gets the very same modules.
"""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from importlib import metadata
from types import ModuleType

CORE = __name__.split(".")[0]  # the core library's own package
VERSION_VARIABLE = "PROJECT_CORE_VERSION"  # the core version a job's launcher had installed
_bound: str | None = None


def bind(package: str) -> None:
    """Serve `package`'s settings and models (a models repository's package calls this on import)."""
    global _bound
    _bound = package
    alias = CoreAlias(package)
    if package != CORE and not any(isinstance(f, CoreAlias) and f.alias == alias.alias for f in sys.meta_path):
        sys.meta_path.insert(0, alias)


def package() -> str:
    """The import name of the project package: the bound one, else the core's own."""
    return _bound or CORE


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
    try:
        return metadata.version(importlib.import_module(f"{CORE}.settings").PROJECT_NAME)
    except (ImportError, AttributeError, metadata.PackageNotFoundError):
        return os.environ.get(VERSION_VARIABLE) or None


class CoreAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports of `<package>.core` and `<package>.core.<module>` give the core's own modules (no second copy)."""

    def __init__(self, package: str) -> None:
        self.alias = f"{package}.core"
        self._specs: dict[str, importlib.machinery.ModuleSpec] = {}  # the real modules' own, by their names

    def find_spec(self, name: str, path=None, target=None):
        if name == self.alias or name.startswith(f"{self.alias}."):
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec) -> ModuleType:
        module = importlib.import_module(f"{CORE}.core{spec.name[len(self.alias) :]}")
        self._specs[module.__name__] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self._specs.pop(module.__name__)  # the import system put the alias's in its place
