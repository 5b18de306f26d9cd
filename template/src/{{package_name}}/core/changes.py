"""Which models a git change touches: the ones CI/CD must test, bundle and deploy again."""

from __future__ import annotations

import subprocess
from pathlib import PurePosixPath

from . import registry
from .errors import ProjectError

SHARED = ("src/", "infra/", "pyproject.toml", "data/")  # a change here touches every model


def changed_models(since: str) -> list[str]:
    """Models whose folder, tests or sample data changed since git revision `since`; all of them if shared code did."""
    result = subprocess.run(["git", "diff", "--name-only", since, "HEAD"], capture_output=True, text=True)
    if result.returncode != 0:
        raise ProjectError(f"git diff {since}: {result.stderr.strip()}")
    return models_touched(result.stdout.split())


def models_touched(paths: list[str]) -> list[str]:
    """The models a list of changed paths touches."""
    models = registry.names()
    touched: set[str] = set()
    for path in map(PurePosixPath, paths):
        owner = _model_of(path, models)
        if owner:
            touched.add(owner)
        elif path.as_posix().startswith(SHARED):
            return models
    return sorted(touched)


def _model_of(path: PurePosixPath, models: list[str]) -> str | None:
    parts = path.parts
    for prefix in (("src", registry.PACKAGE, "models"), ("tests", "models"), ("data", "samples")):
        if parts[: len(prefix)] == prefix and len(parts) > len(prefix) and parts[len(prefix)] in models:
            return parts[len(prefix)]
    return None
