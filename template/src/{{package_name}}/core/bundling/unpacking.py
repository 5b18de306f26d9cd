"""A bundle read back: checked for the container's layout and unpacked safely, within caps.

Unpacking refuses unsafe paths, links and special files, a missing entry point, and archives
that would expand past the caps below, before a byte is written.
"""

from __future__ import annotations

import shutil
import tarfile
import zlib
from pathlib import Path, PurePosixPath

from ..basics.errors import ProjectError, one_line
from ..catalog import runs

# What unpacking may write: weights barely compress and code about 4x, so a real bundle never
# expands 100x; a crafted one (zeros, sparse files) is refused before a byte is written.
MAX_MEMBERS = 100_000
MAX_EXPANSION = 100
MIN_EXPANDED_CAP = 1 << 30  # small archives may always expand to 1 GiB
REQUIRED = ("code/inference.py", "code/requirements.txt")
UNREADABLE = (OSError, EOFError, zlib.error, tarfile.TarError)  # what a damaged or cut archive raises


class BundleError(ProjectError):
    """A bundle that cannot be built or does not have the container's layout."""


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


def is_bundle(path: Path) -> bool:
    """Whether `path` is an archive with the container's layout."""
    try:
        check_layout(path)
    except BundleError:
        return False
    return True


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
