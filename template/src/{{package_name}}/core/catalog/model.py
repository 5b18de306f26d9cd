"""A model resolved once: its name, folder, modules and declared contract, handed down instead of its name."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from . import contract, registry


@dataclass(frozen=True)
class Model:
    """One of the project's models, found (`find`): what jobs, staging and bundling take."""

    name: str
    folder: Path

    def module(self, part: str) -> ModuleType:
        """Import one module of the model, e.g. `module("train")`."""
        return registry.import_part(self.name, part)

    @functools.cached_property
    def contract(self) -> contract.Contract:
        """What the model's folder declares (core/catalog/contract.py), read when first asked for."""
        return contract.of(self.name)


def find(name: str) -> Model:
    """The model called `name` (UnknownModelError if the project has none)."""
    return Model(name, registry.folder(name))
