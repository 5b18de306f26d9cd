"""Fixtures for testing the template: renders, template repositories with history, and runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import copier
import pytest

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PARTS = ("copier.yml", "template", "core_template")
DEFAULT_PACKAGE = "ml_project"
# The model template: files every model gets, and the default starter's own files.
MODEL_TEMPLATE = "core_template/src/{{package_name}}/models/{{model_name}}"
TABULAR_STARTER = (
    "core_template/src/{{package_name}}/models/{% if starter == 'tabular-classifier' %}{{model_name}}{% endif %}"
)


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run a command, failing the test with its output if it fails."""
    result = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}"
    return result


def git(*args: str, cwd: Path) -> str:
    return run("git", *args, cwd=cwd).stdout.strip()


def commit_all(repo: Path, message: str) -> None:
    git("add", "-A", cwd=repo)
    git("-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-q", "-m", message, cwd=repo)


def scaffold(*args: object):
    """Run the `scaffold` CLI in-process; returns typer's result (exit code and output)."""
    from scaffold.cli import app
    from typer.testing import CliRunner

    return CliRunner().invoke(app, [str(a) for a in args])


def replace(path: Path, old: str, new: str) -> None:
    """Replace the first `old` in the file at `path` (which must hold it) with `new`."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def render(dst: Path, src: Path | str = ROOT, **answers: str) -> Path:
    """Render a project with copier's defaults plus `answers`, trust-free; returns `dst`."""
    copier.run_copy(str(src), dst, data=answers, defaults=True, unsafe=False, quiet=True)
    return dst


def rendered_env() -> dict[str, str]:
    """Environment for running a rendered project's checks with this interpreter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture
def template_repo(tmp_path) -> Path:
    """A git repository holding a copy of this template, committed and tagged v1.0.0."""
    return make_template_repo(tmp_path / "template-repo")


def make_template_repo(repo: Path) -> Path:
    """Copy this template into the new folder `repo`, commit it and tag it v1.0.0."""
    repo.mkdir()
    for part in TEMPLATE_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, repo / part, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, repo / part)
    git("init", "-q", "-b", "main", cwd=repo)
    commit_all(repo, "template v1.0.0")
    git("tag", "v1.0.0", cwd=repo)
    return repo
