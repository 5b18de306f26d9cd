"""Which template version the project and each model are on, and the newest available.

Read straight from the answers files and the template's tags (one `git tag` or `git ls-remote`),
so `scaffold list` costs about one start-up, not one copier run per part.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from . import answers, names, template
from .errors import TemplateError

_DESCRIBED = re.compile(r"^(?P<tag>.+)-(?P<count>\d+)-g[0-9a-f]+$")  # `git describe`: a commit after a tag
NO_ANSWERS = "no answers file"  # the note of a model folder that lost its answers file


@dataclass(frozen=True)
class Part:
    target: str
    current: str | None  # the version its answers file records
    latest: str | None
    update_available: bool | None  # None: cannot tell
    note: str = ""


def report(project_dir: Path) -> list[Part]:
    """The project's and each model's template version, with the newest tagged one."""
    project = answers.open_project(project_dir)
    source = template.check_reachable(project.answers.source, str(project.answers.path))
    known = tags(source)
    latest = newest(known)
    parts = [("project", project.answers)] + [(m.path.parent.name, m) for m in project.models()]
    rows = [_part(target, part.version, latest, known) for target, part in parts]
    return rows + [Part(name, None, latest, None, NO_ANSWERS) for name in project.orphan_models()]


def _part(target: str, current: str | None, latest: str | None, known: list[str]) -> Part:
    """A part's row; a recorded tag the template does not have cannot be compared (update refuses it)."""
    if current and known and current not in known and not _DESCRIBED.match(current):
        return Part(target, current, latest, None, f"{current} (not a template version)")
    return Part(target, current, latest, newer(current, latest))


def tags(source: str, what: str = "the template") -> list[str]:
    """The template's git tags, read from its repository (local) or listed remotely.

    A local template that is not a git repository of its own has none (as copier sees it: it
    renders such a folder in place, unversioned), even inside some other repository.
    """
    if names.is_remote(source):
        command = ["git", "ls-remote", "--tags", "--refs", names.git_url(source)]
    elif _own_repository(Path(source)):
        command = ["git", "-C", source, "tag", "--list"]
    else:
        return []
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        problem = (result.stderr.strip().splitlines() or ["git failed"])[-1]  # git's last line says why
        raise TemplateError(f"cannot read the tags of {what} {source}: {problem}")
    return [line.split("refs/tags/")[-1] for line in result.stdout.splitlines() if line.strip()]


def _own_repository(folder: Path) -> bool:
    """Whether `folder` is the top of a git work tree (not a folder inside one, nor outside any)."""
    if not folder.is_dir():
        return False
    result = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=folder, capture_output=True, text=True)
    return result.returncode == 0 and Path(result.stdout.strip()).resolve() == folder.resolve()


def newest(names: list[str]) -> str | None:
    """The highest final-release tag, by PEP 440 order (as copier picks it)."""
    versions = [(version, name) for name in names if (version := parse(name)) and not version.is_prerelease]
    return max(versions)[1] if versions else None


def parse(name: str | None) -> Version | None:
    """A tag or `git describe` output as a version, or None."""
    if not name:
        return None
    if described := _DESCRIBED.match(name):
        base = parse(described["tag"])
        return Version(f"{base.base_version}.post{described['count']}") if base else None
    try:
        return Version(name)
    except InvalidVersion:
        return None


def newer(current: str | None, latest: str | None) -> bool | None:
    """Whether `latest` is a higher version than `current`; None when either is not a version."""
    mine, theirs = parse(current), parse(latest)
    return None if mine is None or theirs is None else theirs > mine
