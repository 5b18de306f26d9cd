"""Which template version the project and each model are on, and the newest available."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import answers
from .errors import TemplateError


@dataclass(frozen=True)
class Version:
    target: str
    current: str | None
    latest: str | None
    update_available: bool


def report(project_dir: Path) -> list[Version]:
    """The project's and each model's template version, with the newest tagged one."""
    project = answers.open_project(project_dir)
    parts = [("project", project.answers)] + [(m.path.parent.name, m) for m in project.models()]
    return [_check(project.root, target, part) for target, part in parts]


def _check(root: Path, target: str, part: answers.Answers) -> Version:
    """`copier check-update` (its public interface is the command) for one answers file."""
    command = [sys.executable, "-m", "copier", "check-update", "--output-format", "json"]
    command += ["--answers-file", str(part.path.relative_to(root)), str(root)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise TemplateError(f"{target}: cannot check for updates: {result.stderr.strip().splitlines()[-1:]}")
    data = json.loads(result.stdout)
    return Version(target, part.version, data["latest_version"], data["update_available"])
