"""Shared by the benchmarks: a rendered, trained project, timing, and one result row."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import copier

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PACKAGE = "ml_project"
MODEL = "classifier"


@dataclass(frozen=True)
class Row:
    """One benchmark: our figure, the baseline's, measured in the same run, and their ratio."""

    name: str
    ours: str
    baseline: str
    ratio: float
    goal: str = ""


def render(folder: Path, **answers: str) -> Path:
    """The template rendered with its defaults (plus `answers`) into `folder/project`."""
    project = folder / "project"
    copier.run_copy(str(ROOT), project, data=answers, defaults=True, unsafe=False, quiet=True)
    return project


def trained_project(folder: Path) -> tuple[Path, Path]:
    """A rendered project with one short training run; returns (project, run_dir)."""
    project = render(folder)
    cli(project, "train", MODEL, "trainer.max_epochs=2", "trainer.progress=false")
    return project, next((project / "runs" / MODEL).iterdir())


def project_env(project: Path) -> dict[str, str]:
    """Environment for running a rendered project's code with this interpreter."""
    tracking = project.parent / "tracking"
    return {
        **os.environ,
        "PYTHONPATH": str(project / "src"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tracking / 'mlflow.db'}",
        "WANDB_MODE": "offline",
        "WANDB_DIR": str(tracking),
    }


def cli(project: Path, *args: str | Path) -> subprocess.CompletedProcess:
    """Run the project's CLI with this interpreter."""
    command = [sys.executable, "-m", PACKAGE, *map(str, args)]
    return sh(*command, cwd=project, env=project_env(project))


def sh(*command: str | Path, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a command; fail with its output if it fails."""
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done


def median_seconds(action: Callable[[], object], repeat: int, after: Callable[[], object] | None = None) -> float:
    """Median wall time of `action` over `repeat` runs; `after` runs untimed after each."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
        if after:
            after()
    return statistics.median(times)
