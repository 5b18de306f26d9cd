"""`serve` with a bad port, address or bundle: one line, exit 2, and nothing started or left behind
(no server process, the port still free, no unpacked folder in the temporary folder, no file written)."""

import importlib
import io
import os
import socket
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

PROBE = "probe"


def member(name: str, kind: bytes = tarfile.REGTYPE, content: bytes = b"x", **fields) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.size = kind, len(content) if kind == tarfile.REGTYPE else 0
    for key, value in fields.items():
        setattr(info, key, value)
    return info, content


def layout(*skip: str) -> list[tuple[tarfile.TarInfo, bytes]]:
    """The members every bundle has (all but `skip`), with stand-in content."""
    names = ["code/inference.py", "code/requirements.txt", "model.pt", "config.yaml"]
    return [member(name) for name in names if name not in skip]


def archive(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w:gz", compresslevel=9) as tar:
        for info, content in members:
            tar.addfile(info, io.BytesIO(content) if info.isreg() else None)
    return path


# (name, what to build at --bundle, serve's extra options, lowered caps ($NAME: an environment variable), the message)
CASES = [
    ("port-zero", "good", ["--port", "0"], {}, "port must be between 1 and 65535, not 0"),
    ("port-too-big", "good", ["--port", "70000"], {}, "not 70000"),
    ("port-negative", "good", ["--port", "-1"], {}, "not -1"),
    ("port-in-use", "good", ["--port", "{busy}"], {}, "Address already in use"),
    ("address-not-here", "good", ["--host", "203.0.113.7"], {}, "cannot listen on 203.0.113.7"),
    ("no-such-bundle", "missing", [], {}, "no such file"),
    ("empty-folder", "folder", [], {}, "is not a bundle folder: missing code/inference.py"),
    ("not-an-archive", "text", [], {}, "not a readable tar archive"),
    ("cut-short", "truncated", [], {}, "cannot be unpacked"),
    ("symlink", [member("code/evil.py", tarfile.SYMTYPE, linkname="/etc/passwd")], [], {}, "links and special"),
    ("hardlink", [member("code/x.py", tarfile.LNKTYPE, linkname="model.pt")], [], {}, "links and special"),
    ("fifo", [member("code/pipe", tarfile.FIFOTYPE)], [], {}, "links and special files"),
    ("device", [member("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3)], [], {}, "links and special"),
    ("parent-path", [member("../outside.txt")], [], {}, "unsafe member path"),
    ("absolute-path", [member("/tmp/outside.txt")], [], {}, "unsafe member path"),
    ("no-entry-point", "no-entry-point", [], {}, "missing ['code/inference.py']"),
    ("expands-too-far", [member("weights.bin", content=bytes(20 << 20))], [], {"MIN_EXPANDED_CAP": 1 << 20}, "expand"),
    ("too-many-members", [member(f"code/m{i}.py") for i in range(20)], [], {"MAX_MEMBERS": 10}, "more than the 10"),
    ("unknown-engine", "good", ["--engine", "docker"], {}, "'docker' is not one of 'builtin', 'torchserve'"),
    ("torchserve-without-java", "good", ["--engine", "torchserve"], {"$JAVA_HOME": "/no/java"}, "needs Java 17+"),
]


@pytest.fixture(scope="module")
def cli(package):
    app = importlib.import_module(f"{package}.cli").app
    return lambda *args: CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def scratch(tmp_path, monkeypatch) -> Path:
    """An empty temporary folder for the command (its TMPDIR), and an empty working folder."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.chdir(folder.parent)
    return folder


@pytest.fixture
def busy_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def build(what, folder: Path) -> Path:
    if isinstance(what, list):
        return archive(folder / "bundle.tar.gz", layout() + what)
    path = folder / f"{what}.tar.gz"
    if what == "folder":
        path.mkdir()
    elif what == "text":
        path.write_text("not a tar archive")
    elif what == "no-entry-point":
        archive(path, layout("code/inference.py"))
    elif what in ("good", "truncated"):
        archive(path, [*layout(), member("model.bin", content=os.urandom(64 << 10))])
        if what == "truncated":
            path.write_bytes(path.read_bytes()[:20_000])
    return path


def children() -> set[str]:
    found = subprocess.run(["pgrep", "-P", str(os.getpid())], capture_output=True, text=True).stdout
    return set(found.split())


@pytest.mark.parametrize(("what", "options", "caps", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_serve_argument_is_one_line_and_starts_nothing(
    core, cli, scratch, busy_port, monkeypatch, what, options, caps, message
):
    for name, value in caps.items():
        if name.startswith("$"):
            monkeypatch.setenv(name[1:], value)
        else:
            monkeypatch.setattr(core.bundling.unpacking, name, value)  # the caps, lowered: small archives will do
    bundle = build(what, scratch.parent)
    workdir = sorted(p.name for p in scratch.parent.iterdir())
    port = core.inference.client.free_port()
    before = children()
    args = [o.format(busy=busy_port) for o in options]
    result = cli("serve", "--bundle", bundle, *(args if "--port" in options else [*args, "--port", port]))
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error:") and len(result.output.strip().splitlines()) == 1, result.output
    assert message in result.output
    assert children() == before
    assert list(scratch.iterdir()) == []
    assert sorted(p.name for p in scratch.parent.iterdir()) == workdir
    core.hosting.local_endpoint.check_port("127.0.0.1", port)  # still free


def test_a_bundle_folder_is_served_as_it_is_and_an_archive_unpacked(core, unpacked_bundle, tmp_path):
    """The good path past the table's checks: a real bundle passes them, as a folder or an archive."""
    model_dir = unpacked_bundle(PROBE)
    assert core.bundling.unpacking.servable(model_dir, tmp_path / "unused") == model_dir
    assert not (tmp_path / "unused").exists()
    archive = core.bundling.bundle.build(PROBE, model_dir, tmp_path / "model.tar.gz")
    assert core.bundling.unpacking.servable(archive, tmp_path / "model") == tmp_path / "model"
    assert (tmp_path / "model" / "code" / "inference.py").is_file()
