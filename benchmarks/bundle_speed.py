"""Bundling large weights: `<package> bundle` against `tar -czf` on the same files, in one run.

    .venv/bin/python benchmarks/bundle_speed.py [--size-mib 1024]

The run's model.pt is replaced by float32 noise of the given size (trained weights compress
about as badly). Both archives hold the same members; the ratio is tar's time over ours.
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import tempfile
import time
from pathlib import Path

import torch
from project import MODEL, cli, trained_project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    size = parser.parse_args().size_mib
    with tempfile.TemporaryDirectory() as tmp:
        project, run_dir = trained_project(Path(tmp))
        torch.save({"weights": torch.randn(size * 1024 * 1024 // 4)}, run_dir / "model.pt")
        folder = run_dir / "bundle-folder"
        cli(project, "bundle", MODEL, "--compression", "none", "--out", folder)

        start = time.perf_counter()
        cli(project, "bundle", MODEL, "--out", run_dir / "ours.tar.gz")
        ours = time.perf_counter() - start

        start = time.perf_counter()
        subprocess.run(["tar", "-czf", run_dir / "tar.tar.gz", "-C", folder, "."], check=True)
        theirs = time.perf_counter() - start

        with gzip.open(run_dir / "ours.tar.gz") as stream:  # gzip-compatible: the stdlib reads it
            while stream.read(1 << 24):
                pass
        sizes = [(run_dir / name).stat().st_size / 2**20 for name in ("ours.tar.gz", "tar.tar.gz")]

    print(f"weights: {size} MiB of float32")
    print(f"tar -czf         {theirs:7.2f} s   {sizes[1]:8.1f} MiB")
    print(f"<package> bundle {ours:7.2f} s   {sizes[0]:8.1f} MiB   speed-up {theirs / ours:5.2f}x")


if __name__ == "__main__":
    main()
