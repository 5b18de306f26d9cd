"""Shared by the tests and the benchmarks: render the template, run commands, run a rendered project.

The benchmarks put this folder on `sys.path` (benchmarks/project.py) and import it as `helpers`;
the tests import it the same way (pytest puts tests/ on `sys.path`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import copier

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PARTS = ("copier.yml", "template", "core_template")
DEFAULT_PACKAGE = "ml_project"
DEFAULT_MODEL = "classifier"
# The default starter's own files in the model template (each starter's files sit under such a folder).
TABULAR_STARTER = (
    "core_template/src/{{package_name}}/models/{% if starter == 'tabular-classifier' %}{{model_name}}{% endif %}"
)


def run(*command: str | Path, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a command; raise AssertionError with its output if it fails."""
    result = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}")
    return result


def git(*args: str, cwd: Path) -> str:
    return run("git", *args, cwd=cwd).stdout.strip()


def commit_all(repo: Path, message: str) -> None:
    git("add", "-A", cwd=repo)
    git("-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-q", "-m", message, cwd=repo)


def replace(path: Path, old: str, new: str) -> None:
    """Replace the first `old` in the file at `path` (which must hold it) with `new`."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def scaffold(*args: object):
    """Run the `scaffold` CLI in-process; returns typer's result (exit code and output)."""
    from scaffold.cli import app
    from typer.testing import CliRunner

    return CliRunner().invoke(app, [str(a) for a in args])


def generated(root: Path, template: Path | str, *models: str) -> Path:
    """A project made by `scaffold new` from `template`, with `models` added, committed in its own git repository."""
    for argv in (["new", root, "--template", template], *(["add-model", model, "--project", root] for model in models)):
        result = scaffold(*argv)
        assert result.exit_code == 0, result.output
    git("init", "-q", cwd=root)
    commit_all(root, "generated")
    return root


def render(dst: Path, src: Path | str = ROOT, **answers: str) -> Path:
    """Render a project with copier's defaults plus `answers`, trust-free; returns `dst`."""
    copier.run_copy(str(src), dst, data=answers, defaults=True, unsafe=False, quiet=True)
    return dst


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


def rendered_env() -> dict[str, str]:
    """Environment for running a rendered project's checks with this interpreter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def project_env(project: Path, **extra: str) -> dict[str, str]:
    """Environment for running a rendered project's code: its sources importable, tracking stored beside it."""
    tracking = project.parent / "tracking"
    return {
        **rendered_env(),
        "PYTHONPATH": str(project / "src"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tracking / 'mlflow.db'}",
        "WANDB_MODE": "offline",
        "WANDB_DIR": str(tracking),
        **extra,
    }


def cli(project: Path, *args: str | Path, package: str = DEFAULT_PACKAGE, **env: str) -> subprocess.CompletedProcess:
    """Run the rendered project's CLI (`python -m <package>`) with this interpreter; `env` adds variables."""
    return run(sys.executable, "-m", package, *args, cwd=project, env=project_env(project, **env))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, log: Path | None = None, timeout: float = 120) -> None:
    """Wait until `url` answers 200, failing early (with the log's tail) if `process` exits first."""
    deadline = time.monotonic() + timeout
    tail = (lambda: log.read_text()[-3000:]) if log else (lambda: "")
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args[:4]} exited with {process.returncode}:\n{tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout} s:\n{tail()}")
