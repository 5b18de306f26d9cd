"""Shared by the benchmarks: a rendered, trained project, timing, and one result row.

Rendering, running commands and a project's environment come from tests/helpers.py, which the tests use too.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # where helpers.py lives

from helpers import DEFAULT_MODEL as MODEL
from helpers import DEFAULT_PACKAGE as PACKAGE
from helpers import ROOT, cli, commit_all, free_port, make_template_repo, project_env, render, wait_ready
from helpers import run as sh

BIN = Path(sys.executable).parent
__all__ = [
    "BIN",
    "MODEL",
    "PACKAGE",
    "ROOT",
    "Row",
    "cli",
    "commit_all",
    "free_port",
    "make_template_repo",
    "median_seconds",
    "project_env",
    "rendered_project",
    "sh",
    "trained_project",
    "wait_ready",
]


@dataclass(frozen=True)
class Row:
    """One benchmark: our figure, the baseline's, measured in the same run, and their ratio."""

    name: str
    ours: str
    baseline: str
    ratio: float
    goal: str = ""


def rendered_project(folder: Path, **answers: str) -> Path:
    """The template rendered with its defaults (plus `answers`) into `folder/project`."""
    return render(folder / "project", **answers)


def trained_project(folder: Path) -> tuple[Path, Path]:
    """A rendered project with one short training run; returns (project, run_dir)."""
    project = rendered_project(folder)
    cli(project, "train", MODEL, "trainer.max_epochs=2", "trainer.progress=false")
    return project, next((project / "runs" / MODEL).iterdir())


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
