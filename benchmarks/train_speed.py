"""Training step time: the core trainer's `fit` against a plain PyTorch loop (training_loops.py)."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from project import MODEL, PACKAGE, Row, project_env, rendered_project, sh

LOOPS = Path(__file__).with_name("training_loops.py")


def measure(folder: Path) -> list[Row]:
    project = rendered_project(folder)
    done = sh(sys.executable, LOOPS, PACKAGE, MODEL, cwd=project, env=project_env(project))
    times = json.loads(done.stdout.strip().splitlines()[-1])
    compared = [
        ("core trainer", "fit", "plain"),
        (f"tracked with {times['backend']}", "fit_tracked", "plain"),
        ("bf16-mixed, core trainer", "fit_bf16", "plain_bf16"),
    ]
    return [
        _row(f"training step time, {label} ({times['steps']} steps)", times[ours], times[base])
        for label, ours, base in compared
    ]


def _row(name: str, ours: list[float], baseline: list[float]) -> Row:
    """Median step times, and the spread of the per-repeat ratios (repeats alternate the variants)."""
    ratios = sorted(o / b for o, b in zip(ours, baseline, strict=True))
    spread = f"ratio {ratios[0]:.2f}-{ratios[-1]:.2f} over {len(ratios)} repeats"
    return Row(
        name,
        f"`fit` {statistics.median(ours) * 1000:.3f} ms ({spread})",
        f"plain PyTorch loop {statistics.median(baseline) * 1000:.3f} ms",
        statistics.median(ratios),
        "<= 1.05x",
    )
