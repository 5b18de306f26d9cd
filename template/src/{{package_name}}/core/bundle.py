"""`model.tar.gz` in the layout of SageMaker's PyTorch inference containers.

    model.pt, config.yaml        the run's artifacts, at the top level
    code/inference.py            entry point: re-exports the model's handler functions
    code/requirements.txt        the model's requirements.txt (the container pip-installs it)
    code/<package>/...           the package with `core` and this model only

The container unpacks the archive into /opt/ml/model and puts `code/` on `sys.path`, so the
model's code imports exactly as it does in this project. Archives are reproducible: the same
inputs give the same bytes (sorted members, fixed times, owners and modes, no gzip timestamp).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from pathlib import Path, PurePosixPath

from . import registry, runs, sources
from .errors import ProjectError

ARTIFACTS = (runs.WEIGHTS, runs.CONFIG)
HANDLERS = ("model_fn", "input_fn", "predict_fn", "output_fn", "transform_fn")
# 1980-01-01: the oldest time every archive tool accepts; override with SOURCE_DATE_EPOCH.
MTIME = int(os.environ.get("SOURCE_DATE_EPOCH", 315532800))


class BundleError(ProjectError):
    """A bundle that cannot be built or does not have the container's layout."""


def build(model: str, run_dir: Path, out: Path) -> Path:
    """Write the bundle of `model`'s run in `run_dir` to `out`; returns `out`."""
    files = members(model, run_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with (
        partial.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name in sorted(files):
            _add(tar, name, files[name])
    partial.replace(out)
    return out


def members(model: str, run_dir: Path) -> dict[str, bytes]:
    """Every member of the bundle: archive name -> content."""
    files = {name: _read_artifact(run_dir, name) for name in ARTIFACTS}
    files["code/inference.py"] = entry_point(model).encode()
    files["code/requirements.txt"] = (registry.folder(model) / "requirements.txt").read_bytes()
    for name, path in sources.package_files(model).items():
        files[f"code/{name}"] = path.read_bytes()
    return files


def entry_point(model: str) -> str:
    """The source of `code/inference.py`: the model's handler functions, re-exported."""
    handlers = [name for name in HANDLERS if hasattr(registry.module(model, "inference"), name)]
    module = f"{registry.PACKAGE}.models.{model}.inference"
    return (
        f'"""SageMaker entry point of model {model!r}: written by `bundle`, edit {module}."""\n\n'
        f"from {module} import {', '.join(handlers)}\n\n"
        f"__all__ = {json.dumps(handlers)}\n"
    )


def unpack(bundle: Path, dest: Path) -> Path:
    """Extract `bundle` into `dest` the way the container does; returns `dest`."""
    check_layout(bundle)
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(bundle) as tar:
        tar.extractall(dest, filter="data")
    return dest


def check_layout(bundle: Path) -> list[str]:
    """The bundle's member names, after checking it has the container's layout."""
    try:
        with tarfile.open(bundle) as tar:
            names = tar.getnames()
    except (OSError, tarfile.TarError) as error:
        raise BundleError(f"{bundle}: not a readable tar archive ({error})") from error
    unsafe = [n for n in names if PurePosixPath(n).is_absolute() or ".." in PurePosixPath(n).parts]
    if unsafe:
        raise BundleError(f"{bundle}: unsafe member path(s) {unsafe}")
    missing = [n for n in ("code/inference.py", "code/requirements.txt", *ARTIFACTS) if n not in names]
    if missing:
        raise BundleError(f"{bundle}: missing {missing}")
    return names


def _read_artifact(run_dir: Path, name: str) -> bytes:
    path = run_dir / name
    if not path.is_file():
        raise BundleError(f"{run_dir}: missing {name}; is this a finished run?")
    return path.read_bytes()


def _add(tar: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(content), MTIME, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(content))
