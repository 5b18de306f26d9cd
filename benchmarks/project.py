"""A rendered project with one trained run, for the benchmarks (built in a temporary folder)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import copier

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "ml_project"
MODEL = "classifier"


def trained_project(folder: Path) -> tuple[Path, Path]:
    """Render the template with its defaults into `folder`, train once; returns (project, run_dir)."""
    project = folder / "project"
    copier.run_copy(str(ROOT), project, defaults=True, unsafe=False, quiet=True)
    cli(project, "train", MODEL, "trainer.max_epochs=2", "trainer.progress=false")
    run_dir = next((project / "runs" / MODEL).iterdir())
    return project, run_dir


def cli(project: Path, *args: str | Path) -> subprocess.CompletedProcess:
    """Run the project's CLI with this interpreter."""
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    command = [sys.executable, "-m", PACKAGE, *map(str, args)]
    return subprocess.run(command, cwd=project, env=env, check=True, capture_output=True, text=True)
