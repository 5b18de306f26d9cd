"""Training step time: the core trainer's `fit` against a plain PyTorch loop (training_loops.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from project import MODEL, PACKAGE, Row, project_env, render, sh

LOOPS = Path(__file__).with_name("training_loops.py")


def measure(folder: Path) -> list[Row]:
    project = render(folder)
    done = sh(sys.executable, LOOPS, PACKAGE, MODEL, cwd=project, env=project_env(project))
    times = json.loads(done.stdout.strip().splitlines()[-1])
    plain = f"plain PyTorch loop {times['plain'] * 1000:.3f} ms"
    return [
        Row(
            f"training step time, core trainer ({times['steps']} steps)",
            f"`fit` {times['fit'] * 1000:.3f} ms",
            plain,
            times["fit"] / times["plain"],
            "<= 1.05x",
        ),
        Row(
            f"training step time, tracked with {times['backend']}",
            f"`fit` {times['fit_tracked'] * 1000:.3f} ms",
            plain,
            times["fit_tracked"] / times["plain"],
            "<= 1.05x",
        ),
    ]
