"""Bundling large weights: `<package> bundle` against `tar -czf` on the same files.

The run's model.pt is replaced by float32 noise of the given size (trained weights compress
about as badly). Both archives hold the same members; the ratio is our time over tar's.
"""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import torch
from project import MODEL, Row, cli, sh, trained_project


def measure(folder: Path, size_mib: int = 256) -> list[Row]:
    project, run_dir = trained_project(folder)
    torch.save({"weights": torch.randn(size_mib * 1024 * 1024 // 4)}, run_dir / "model.pt")
    layout = run_dir / "bundle-folder"
    cli(project, "bundle", MODEL, "--compression", "none", "--out", layout)

    start = time.perf_counter()
    cli(project, "bundle", MODEL, "--out", run_dir / "ours.tar.gz")
    ours = time.perf_counter() - start
    start = time.perf_counter()
    sh("tar", "-czf", run_dir / "tar.tar.gz", "-C", layout, ".")
    theirs = time.perf_counter() - start

    with gzip.open(run_dir / "ours.tar.gz") as stream:  # gzip-compatible: the stdlib reads it
        while stream.read(1 << 24):
            pass
    ours_mib, tar_mib = ((run_dir / name).stat().st_size / 2**20 for name in ("ours.tar.gz", "tar.tar.gz"))
    return [
        Row(
            f"bundle {size_mib} MiB of weights: time",
            f"{ours:.2f} s, {ours_mib:.0f} MiB",
            f"`tar -czf` {theirs:.2f} s, {tar_mib:.0f} MiB",
            ours / theirs,
            "<= 0.2x",
        )
    ]
