"""Exact versions from the project's lock file, so a job or an endpoint installs what CI tested.

The lock (requirements/lock.txt, written by scripts/lock.sh) pins every dependency of the project.
A requirement it has becomes `name==version` (one line per Python range where the lock forks);
one it lacks, one with its own marker or URL, or one the lock has as a local build (`+cpu`, from
PyTorch's own index) is kept as written. Without a lock (an installed
package away from its project) nothing is pinned.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import project

NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?")


def lock_file() -> Path:
    """The project's requirements/lock.txt (a models repository's own, not beside the installed core)."""
    return Path(project.models().__file__).resolve().parents[3] / "requirements" / "lock.txt"


def canonical(name: str) -> str:
    """A package name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(lock: Path | None = None) -> dict[str, list[str]]:
    """Canonical name -> the lock's pins for it (`==version`, with `; marker` where the lock forks)."""
    pins: dict[str, list[str]] = {}
    lock = lock or lock_file()
    if not lock.is_file():
        return pins
    for line in lock.read_text().splitlines():
        if not line or line[0] in " #-\t":
            continue
        match = NAME.match(line)
        if match and "==" in line:
            pin = line[match.end() :].rstrip("\\ ").strip()
            pins.setdefault(canonical(match.group(1)), []).append(pin)
    return pins


def pin(requirements: list[str], lock: Path | None = None) -> list[str]:
    """`requirements` with each one the lock has replaced by its exact version(s)."""
    pins = locked(lock)
    pinned: list[str] = []
    for requirement in requirements:
        match = NAME.match(requirement)
        own_marker_or_url = ";" in requirement or "@" in requirement
        found = pins.get(canonical(match.group(1)), []) if match else []
        local_build = any("+" in version for version in found)  # e.g. torch==2.13.0+cpu: not on PyPI
        if not found or own_marker_or_url or local_build:
            pinned.append(requirement)
            continue
        name = match.group(1) + (match.group(2) or "")
        pinned.extend(f"{name}{version}" for version in pins[canonical(match.group(1))])
    return list(dict.fromkeys(pinned))
