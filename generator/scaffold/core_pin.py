"""The shared core a models repository (layout `models`) pins: which tag, and which tags exist.

The pin is the project's `core_version` answer, rendered into pyproject.toml; `scaffold update
--data core_version=vX` moves it with the template update, after checking the core repository has
that tag, and `scaffold list` compares it with the core's newest tag.
"""

from __future__ import annotations

from . import answers, versions
from .errors import InvalidInputError, TemplateError


def pinned(project: answers.Project) -> tuple[str, str, str] | None:
    """(core name, core URL, pinned tag) of a models repository; None for another layout."""
    data = project.answers.data
    if data.get("layout") != "models":
        return None
    return data.get("core_name", "core"), data.get("core_url", ""), data.get("core_version", "")


def row(project: answers.Project) -> versions.Part | None:
    """`scaffold list`'s row for the core: the pinned tag, the core repository's newest, whether it is newer."""
    pin = pinned(project)
    if pin is None:
        return None
    name, url, tag = pin
    try:
        latest = versions.newest(versions.tags(url, "the core"))
    except TemplateError:  # unreachable (offline, no access): the pin is still worth showing
        return versions.Part(f"core ({name})", tag, None, None, f"{tag} (core unreachable)")
    return versions.Part(f"core ({name})", tag, latest, versions.newer(tag, latest))


def check_tag(project: answers.Project, data: dict[str, str]) -> None:
    """Refuse `core_version` (given with --data) unless the core repository, old or new URL, has that tag."""
    if "core_version" not in data:
        return
    layout = data.get("layout", project.answers.data.get("layout", "monorepo"))
    if layout != "models":
        raise InvalidInputError("--data core_version applies to a models repository (layout=models) only")
    url = data.get("core_url") or project.answers.data.get("core_url", "")
    known = versions.tags(url, "the core")
    if data["core_version"] not in known:
        newest = versions.newest(known) or "none"
        raise InvalidInputError(f"core version {data['core_version']} is not a tag of {url} (newest: {newest})")
