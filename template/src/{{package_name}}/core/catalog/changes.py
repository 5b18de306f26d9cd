"""Which models a git change touches: the ones CI/CD must test, register and deploy again."""

from __future__ import annotations

import subprocess
from pathlib import PurePosixPath

from ..basics import project
from ..basics.errors import ProjectError
from . import registry

SHARED = ("src/", "infra/", "pyproject.toml", "requirements/", "data/")  # a change here touches every model
NO_COMMIT = "0" * 40  # GitHub's `before` on the first push of a branch


def changed_models(since: str | None) -> list[str]:
    """Models whose folder, tests or sample data changed since git revision `since`; all of them if shared code did.

    No base to compare with (an empty value, a first push, or a revision this clone does not have
    because a force-push dropped it) gives every model: when in doubt, everything is rebuilt.
    """
    since = (since or "").strip()
    if since.startswith("-"):
        raise ProjectError(f"'{since}' is not a git revision")
    _git("rev-parse", "--git-dir")  # outside a repository is an error, not "everything changed"
    if since in ("", NO_COMMIT) or not _known(since):
        return registry.names()
    return models_touched(_git("diff", "--name-only", "--no-renames", f"{since}^{{commit}}", "HEAD", "--").split())


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


def _known(revision: str) -> bool:
    """Whether `revision` names a commit this clone has."""
    found = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    return found.returncode == 0


def _git(*args: str) -> str:
    result = subprocess.run(["git", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise ProjectError(f"git {args[0]}: {result.stderr.strip() or 'failed'}")
    return result.stdout


def _model_of(path: PurePosixPath, models: list[str]) -> str | None:
    parts = path.parts
    for prefix in (("src", project.package(), "models"), ("tests", "models"), ("data", "samples")):
        if parts[: len(prefix)] == prefix and len(parts) > len(prefix) and parts[len(prefix)] in models:
            return parts[len(prefix)]
    return None
