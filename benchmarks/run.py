"""Every benchmark in one run: each figure beside a baseline measured in the same run.

    .venv/bin/python benchmarks/run.py [--only NAME ...] [--out benchmarks/results.md]

Prints a markdown table and writes it to `--out` (docs/benchmarks.md includes that file).
Names: scaffold, suite, bundle, serve, engines, train, data. No figure is asserted anywhere: the goals are
read by people, next to the numbers.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import bundle_speed
import data_loading
import engines_speed
import scaffold_speed
import serve_speed
import suite_speed
import torch
import train_speed
from project import ROOT, Row

BENCHMARKS = {
    "scaffold": scaffold_speed.measure,
    "suite": suite_speed.measure,
    "bundle": bundle_speed.measure,
    "serve": serve_speed.measure,
    "engines": engines_speed.measure,
    "train": train_speed.measure,
    "data": data_loading.measure,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), default=list(BENCHMARKS))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.md")
    args = parser.parse_args()
    rows: list[Row] = []
    start = time.perf_counter()
    for name in args.only:
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as folder:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            rows += BENCHMARKS[name](Path(folder))
    table = render_table(rows, time.perf_counter() - start)
    print(table)
    args.out.write_text(table)


def render_table(rows: list[Row], seconds: float) -> str:
    lines = [
        "| benchmark | ours | baseline (same run) | ratio | goal |",
        "|---|---|---|---:|---|",
        *(f"| {r.name} | {r.ours} | {r.baseline} | {r.ratio:.2f}x | {r.goal} |" for r in rows),
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} CPU cores ({platform.machine()}), "
        f"Python {platform.python_version()}, torch {torch.__version__}; the run took {seconds / 60:.1f} min.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
