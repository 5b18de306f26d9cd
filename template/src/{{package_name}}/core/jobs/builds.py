"""The part of a data set's build that runs where the build runs: here, or in a SageMaker Processing job.

`run` runs a build script as `python <script> --out <folder>` and writes the manifest of what it
wrote; `job_main` is a Processing job's entry point around it (see core/jobs/processing.py). A job ships
this module with only what it imports (fingerprint.py, errors.py), which need nothing but the
standard library: the job's image has none of the project's dependencies.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ..basics import fingerprint
from ..basics.errors import ProjectError


class DatasetError(ProjectError):
    """A data set without a build script, a build that failed, or an output that is not empty."""


def run(script: Path, out: Path, details: dict, cwd: Path | None = None) -> dict:
    """Run `script` into the empty or new folder `out`, then fingerprint what it wrote; returns the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, str(script), "--out", str(out)], cwd=cwd)
    if done.returncode != 0:
        raise DatasetError(f"{script} failed with exit code {done.returncode}")
    if not any(path.is_file() for path in out.rglob("*")):
        raise DatasetError(f"{script} wrote no files to the folder given as --out")
    return fingerprint.write_manifest(out, details)


def job_main(script: Path, details: dict, argv: list[str] | None = None) -> dict:
    """A Processing job's entry point: install the requirements.txt beside `script`, then `run` it into argv[0]."""
    out = Path((sys.argv[1:] if argv is None else argv)[0])
    requirements = script.with_name("requirements.txt")
    if requirements.is_file():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-r", str(requirements)], check=True)
    manifest = run(script, out, details, cwd=script.parent)
    print(f"data set built: {manifest['files']} files, {manifest['bytes']} bytes, {manifest['fingerprint']}")
    return manifest
