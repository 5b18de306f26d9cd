"""A rendered project's own test suite: its full run against pytest collecting it (imports, start-up)."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from project import Row, project_env, rendered_project, sh


def measure(folder: Path) -> list[Row]:
    project = rendered_project(folder)
    sh("git", "init", "-q", cwd=project)
    env = project_env(project)
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    start = time.perf_counter()
    sh(*pytest, "--collect-only", cwd=project, env=env)
    collect = time.perf_counter() - start
    start = time.perf_counter()
    done = sh(*pytest, cwd=project, env=env)
    suite = time.perf_counter() - start
    passed = re.search(r"(\d+) passed", done.stdout)
    return [
        Row(
            "rendered project's test suite: time",
            f"{passed.group(1) if passed else '?'} tests in {suite:.1f} s",
            f"`pytest --collect-only` {collect:.1f} s",
            suite / collect,
        )
    ]
