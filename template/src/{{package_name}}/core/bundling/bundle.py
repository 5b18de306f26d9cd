"""`model.tar.gz` in the layout of SageMaker's PyTorch inference containers.

    model.pt, config.yaml, ...   the run's weights and config, and the artifacts its contract lists
    code/inference.py            entry point: re-exports the model's handler functions
    code/requirements.txt        what core's serving code needs, then the model's requirements.txt
    code/<package>/...           the package with `core` and this model only

The container unpacks the archive into /opt/ml/model and puts `code/` on `sys.path`, so the
model's code imports exactly as it does in this project. Archives are reproducible: the same
inputs give the same bytes (sorted members, fixed times, owners and modes, no gzip timestamp).
Compression is gzip-compatible and multi-threaded (python-isal), so large weights bundle fast.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from isal import igzip_threaded
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from ..basics import project
from ..catalog import contract, runs
from ..catalog.model import find
from . import scripts, sources, unpacking

COMPRESSIONS = ("gzip", "none")
COMPRESS_LEVEL = 1  # isal levels 0-3; on float32 weights 1 is as small as gzip -6 (benchmarks/bundle_speed.py)
CHUNK = 1 << 20
# 1980-01-01: the oldest time every archive tool accepts; override with SOURCE_DATE_EPOCH.
MTIME = int(os.environ.get("SOURCE_DATE_EPOCH", 315532800))


def build(model: str, run_dir: Path, out: Path, compression: str = "gzip", progress: bool = False) -> Path:
    """Write the bundle of `model`'s run in `run_dir` to `out`; returns `out`.

    `compression="gzip"` writes model.tar.gz with multi-threaded gzip; `"none"` writes the same
    layout as a folder, for an uncompressed S3 prefix (`ModelDataSource`, `CompressionType: None`).
    """
    if compression not in COMPRESSIONS:
        raise unpacking.BundleError(f"compression must be one of {', '.join(COMPRESSIONS)}, not '{compression}'")
    files = members(model, run_dir)
    _check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        with _progress(files, enabled=progress) as advance:
            (_write_folder if compression == "none" else _write_archive)(files, partial, advance)
    except BaseException:  # failed or interrupted: no half-written bundle stays behind
        if partial.is_dir():
            shutil.rmtree(partial)
        partial.unlink(missing_ok=True)
        raise
    if out.is_dir():
        shutil.rmtree(out)
    partial.replace(out)
    return out


def members(model: str, run_dir: Path) -> dict[str, bytes | Path]:
    """Every member of the bundle: archive name -> content, or the file holding it."""
    names = dict.fromkeys([*runs.SERVED, *contract.of(model).artifacts])
    files: dict[str, bytes | Path] = {name: sources.artifact(run_dir, name) for name in names}
    files["code/inference.py"] = entry_point(model).encode()
    found = find(model)  # the handle sources take
    header = "Installed by the serving container at start-up; the image has torch and numpy."
    files["code/requirements.txt"] = sources.requirements(found, header).encode()
    files.update({f"code/{name}": path for name, path in sources.package_files(found).items()})
    return files


def entry_point(model: str) -> str:
    """The source of `code/inference.py`: the model's `model_fn`, and one `transform_fn` around its
    handlers that answers every error as JSON with its status, on any server (core/inference/handling.py)."""
    version = project.core_version() or "(version unknown)"
    return scripts.render(
        "inference.py", MODEL=model, PACKAGE=project.package(), CORE=project.CORE, CORE_VERSION=version
    )


def _check_replaceable(out: Path) -> None:
    """Refuse to overwrite anything at `out` but an earlier bundle."""
    if not out.exists():
        return
    earlier = (out / "code" / "inference.py").is_file() if out.is_dir() else unpacking.is_bundle(out)
    if not earlier:
        raise unpacking.BundleError(f"{out} exists and is not a bundle: choose another --out")


def _write_archive(files: dict[str, bytes | Path], path: Path, advance) -> None:
    threads = max(1, min(4, os.cpu_count() or 1))
    with (
        igzip_threaded.open(path, "wb", compresslevel=COMPRESS_LEVEL, threads=threads) as gz,
        tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name in sorted(files):
            content = files[name]
            info = tarfile.TarInfo(name)
            info.size = len(content) if isinstance(content, bytes) else content.stat().st_size
            info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = MTIME, 0o644, 0, 0, "", ""
            with _open(content) as source:
                tar.addfile(info, _Counting(source, advance))


def _write_folder(files: dict[str, bytes | Path], folder: Path, advance) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    for name in sorted(files):
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with _open(files[name]) as source, target.open("wb") as sink:
            shutil.copyfileobj(_Counting(source, advance), sink, CHUNK)


def _open(content: bytes | Path) -> BinaryIO:
    return io.BytesIO(content) if isinstance(content, bytes) else content.open("rb")


class _Counting:
    """A readable file that reports how many bytes were read."""

    def __init__(self, source: BinaryIO, advance):
        self.source, self.advance = source, advance

    def read(self, size: int = -1) -> bytes:
        chunk = self.source.read(size)
        self.advance(len(chunk))
        return chunk


@contextmanager
def _progress(files: dict[str, bytes | Path], enabled: bool) -> Iterator:
    total = sum(len(c) if isinstance(c, bytes) else c.stat().st_size for c in files.values())
    columns = (TextColumn("bundling"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, disable=not enabled) as bar:
        task = bar.add_task("bundle", total=total)
        yield lambda n: bar.advance(task, n)


def build_run(model: str, run_dir: Path, out: Path | None = None, compression: str = "gzip") -> Path:
    """`build` with a progress bar, into `out` or, by default, the run folder's `model.tar.gz` (or `model/`)."""
    return build(model, run_dir, out or default_path(run_dir, compression), compression, progress=True)


def default_path(run_dir: Path, compression: str = "gzip") -> Path:
    """Where a run's bundle goes unless told otherwise: `model.tar.gz` in the run folder (`model/` uncompressed)."""
    return run_dir / ("model" if compression == "none" else "model.tar.gz")
