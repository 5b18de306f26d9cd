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
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from isal import igzip_threaded
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from ..basics import project
from ..basics.errors import ProjectError, one_line
from ..catalog import contract, runs
from ..catalog.model import find
from . import sources

COMPRESSIONS = ("gzip", "none")
COMPRESS_LEVEL = 1  # isal levels 0-3; on float32 weights 1 is as small as gzip -6 (benchmarks/bundle_speed.py)
CHUNK = 1 << 20
# 1980-01-01: the oldest time every archive tool accepts; override with SOURCE_DATE_EPOCH.
MTIME = int(os.environ.get("SOURCE_DATE_EPOCH", 315532800))
# What unpacking may write: weights barely compress and code about 4x, so a real bundle never
# expands 100x; a crafted one (zeros, sparse files) is refused before a byte is written.
MAX_MEMBERS = 100_000
MAX_EXPANSION = 100
MIN_EXPANDED_CAP = 1 << 30  # small archives may always expand to 1 GiB
REQUIRED = ("code/inference.py", "code/requirements.txt")
UNREADABLE = (OSError, EOFError, zlib.error, tarfile.TarError)  # what a damaged or cut archive raises


class BundleError(ProjectError):
    """A bundle that cannot be built or does not have the container's layout."""


def build(model: str, run_dir: Path, out: Path, compression: str = "gzip", progress: bool = False) -> Path:
    """Write the bundle of `model`'s run in `run_dir` to `out`; returns `out`.

    `compression="gzip"` writes model.tar.gz with multi-threaded gzip; `"none"` writes the same
    layout as a folder, for an uncompressed S3 prefix (`ModelDataSource`, `CompressionType: None`).
    """
    if compression not in COMPRESSIONS:
        raise BundleError(f"compression must be one of {', '.join(COMPRESSIONS)}, not '{compression}'")
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
    module = f"{project.package()}.models.{model}.inference"
    return (
        f'"""SageMaker entry point of model {model!r}: written by `bundle`, edit {module}.\n\n'
        f'Core library: {project.CORE} {project.core_version() or "(version unknown)"}.\n"""\n\n'
        f"from {project.package()}.models.{model} import inference as handlers\n"
        f"from {project.CORE}.core.inference import handling\n\n"
        "model_fn = handlers.model_fn\n"
        "transform_fn = handling.transform_fn(handlers)\n"
        "handling.receive_raw_bodies()  # JSON and CSV too: the handlers' codecs decode them\n\n"
        '__all__ = ["model_fn", "transform_fn"]\n'
    )


def servable(bundle: Path, scratch: Path) -> Path:
    """The folder to serve `bundle` from: a bundle folder as it is, an archive unpacked into `scratch`."""
    if bundle.is_dir():
        missing = [name for name in (*REQUIRED, *runs.SERVED) if not (bundle / name).is_file()]
        if missing:
            raise BundleError(f"{bundle} is not a bundle folder: missing {', '.join(missing)}")
        return bundle
    if not bundle.is_file():
        raise BundleError(f"{bundle}: no such file (not a readable tar archive, nor a bundle folder)")
    return unpack(bundle, scratch)


def unpack(bundle: Path, dest: Path) -> Path:
    """Extract `bundle` into `dest` the way the container does, within the caps above; returns `dest`."""
    with _open_archive(bundle) as tar:
        try:
            members = _members(bundle, tar)
            _check_members(bundle, members, dest)
            dest.mkdir(parents=True, exist_ok=True)
            tar.extractall(dest, members, filter="data")
        except UNREADABLE as error:
            raise BundleError(f"{bundle}: cannot be unpacked ({one_line(error)})") from error
    return dest


def check_layout(bundle: Path) -> list[str]:
    """The bundle's member names, after checking it has the container's layout."""
    with _open_archive(bundle) as tar:
        try:
            members = _members(bundle, tar)
        except UNREADABLE as error:
            raise BundleError(f"{bundle}: not a readable tar archive ({one_line(error)})") from error
    _check_members(bundle, members)
    return [_name(member) for member in members]


def _open_archive(bundle: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(bundle)
    except tarfile.ReadError as error:  # its message lists every compression tried, one per line
        raise BundleError(f"{bundle}: not a readable tar archive") from error
    except UNREADABLE as error:
        raise BundleError(f"{bundle}: not a readable tar archive ({one_line(error)})") from error


def _check_members(bundle: Path, members: list[tarfile.TarInfo], dest: Path | None = None) -> None:
    """Refuse unsafe paths, links and special files, a missing entry point, and more than the caps allow."""
    names = [_name(member) for member in members]
    unsafe = [n for n in names if PurePosixPath(n).is_absolute() or ".." in PurePosixPath(n).parts]
    if unsafe:
        raise BundleError(f"{bundle}: unsafe member path(s) {unsafe[:5]}")
    odd = [member.name for member in members if not (member.isfile() or member.isdir())]
    if odd:
        raise BundleError(f"{bundle}: links and special files have no place in a bundle: {odd[:5]}")
    missing = [n for n in (*REQUIRED, *runs.SERVED) if n not in names]
    if missing:
        raise BundleError(f"{bundle}: missing {missing}")
    size = sum(member.size for member in members)
    free = shutil.disk_usage(_existing(dest)).free if dest else size
    if size > free:
        raise BundleError(f"{bundle}: needs {size} bytes to unpack, only {free} are free in {dest}")


def _members(bundle: Path, tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The archive's members, read header by header and refused as soon as they pass a cap."""
    cap = max(MIN_EXPANDED_CAP, MAX_EXPANSION * bundle.stat().st_size)
    members, size = [], 0
    for member in tar:
        members.append(member)
        size += member.size
        if len(members) > MAX_MEMBERS:
            raise BundleError(f"{bundle}: more than the {MAX_MEMBERS} members a bundle may hold")
        if size > cap:
            raise BundleError(f"{bundle}: would expand to more than the {cap} bytes allowed for its size")
    return members


def _name(member: tarfile.TarInfo) -> str:
    """A member's path as the container sees it (`tar -C dir .` writes `./code/...`)."""
    return PurePosixPath(member.name).as_posix()


def _existing(path: Path) -> Path:
    """`path`, or its nearest folder that exists."""
    return next(folder for folder in (path, *path.parents) if folder.exists())


def _check_replaceable(out: Path) -> None:
    """Refuse to overwrite anything at `out` but an earlier bundle."""
    if not out.exists():
        return
    earlier = (out / "code" / "inference.py").is_file() if out.is_dir() else _is_bundle(out)
    if not earlier:
        raise BundleError(f"{out} exists and is not a bundle: choose another --out")


def _is_bundle(path: Path) -> bool:
    try:
        check_layout(path)
    except BundleError:
        return False
    return True


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
    default = run_dir / ("model" if compression == "none" else "model.tar.gz")
    return build(model, run_dir, out or default, compression, progress=True)
