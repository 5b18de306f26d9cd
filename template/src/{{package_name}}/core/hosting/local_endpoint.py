"""A bundle served on this machine while a block runs: what `serve`, `smoke` and `promote` start,
with this project's server or with TorchServe (`engine`).

The server runs in a process of its own session, so Ctrl-C in a terminal reaches this process
only; SIGTERM here is taken as Ctrl-C. Either way the block's exit stops the server, frees its
port and removes the unpacked bundle (the server also stops by itself if this process dies).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..basics.errors import ProjectError, sigterm_as_interrupt
from ..bundling import unpacking
from ..inference import client, serving
from . import torchserve

# builtin: this project's server (core/inference/serving.py), quick to start; torchserve: what a SageMaker
# PyTorch endpoint runs (core/hosting/torchserve.py), to see a bundle as production will.
ENGINES = ("builtin", "torchserve")
STOP_TIMEOUT = 30  # seconds the server gets to finish its requests before it is killed


@contextmanager
def running(bundle_path: Path, host: str, port: int, engine: str = "builtin") -> Iterator[tuple[str, subprocess.Popen]]:
    """Serve a bundle (a model.tar.gz, unpacked into a temporary folder, or a bundle folder) with
    `engine` (see ENGINES); yields (URL, process)."""
    check_engine(engine)
    check_port(host, port)
    with sigterm_as_interrupt(), tempfile.TemporaryDirectory(prefix="bundle-") as folder:
        model_dir = unpacking.servable(bundle_path, Path(folder) / "model")
        if engine == "torchserve":
            process = torchserve.spawn(model_dir, Path(folder) / "torchserve", host, port)
            ready = client.wait_until_answering
        else:
            process, ready = serving.spawn(model_dir, host, port), client.wait_until_ready
        url = client.base_url(host, port)
        try:
            try:
                ready(url, process)
            except (RuntimeError, TimeoutError) as error:
                reason = torchserve.failure(Path(folder) / "torchserve") if engine == "torchserve" else None
                raise ProjectError(f"serving {bundle_path} failed: {reason or error}") from error
            yield url, process
        finally:
            stop(process)


def check_engine(engine: str) -> None:
    """Refuse an unknown engine, or TorchServe when it or Java is not installed."""
    if engine not in ENGINES:
        raise ProjectError(f"--engine must be one of {', '.join(ENGINES)}, not '{engine}'")
    if engine == "torchserve":
        torchserve.check_installed()


def check_port(host: str, port: int) -> None:
    """Refuse a port out of range, an address this machine cannot bind, or a port already in use."""
    if not 1 <= port <= 65535:
        raise ProjectError(f"port must be between 1 and 65535, not {port}")
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
            probe.bind(address)
    except OSError as error:
        raise ProjectError(f"cannot listen on {host} port {port}: {error.strerror or error}") from error


def stop(process: subprocess.Popen) -> None:
    """Stop the server: SIGTERM (it finishes its requests), SIGKILL if it has not exited in time;
    then whatever is left of its process group (it leads one of its own)."""
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
