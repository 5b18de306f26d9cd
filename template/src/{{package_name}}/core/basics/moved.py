"""Names that model folders of earlier releases use and that now live in another module: still found,
with a DeprecationWarning that names the new place (a module's `__getattr__` is a `forwarder`)."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable


def attribute(module: str, name: str, moved: dict[str, str]) -> object:
    """`name` of `module` (a dotted name), looked up in its sibling module `moved[name]`."""
    if name not in moved:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    sibling = f"{module.rsplit('.', 1)[0]}.{moved[name]}"
    old, new = (m.split(".core.", 1)[-1] for m in (module, sibling))
    warnings.warn(f"{old}.{name} is {new}.{name} now: use that", DeprecationWarning, stacklevel=3)
    return getattr(importlib.import_module(sibling), name)


def forwarder(module: str, moved: dict[str, str]) -> Callable[[str], object]:
    """A module's `__getattr__` that finds the `moved` names in their sibling modules."""
    return lambda name: attribute(module, name, moved)
