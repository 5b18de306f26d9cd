"""A bundle served on this machine while a block runs: what `serve`, `smoke` and `promote` start."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import bundle, client, serving
from .errors import ProjectError


@contextmanager
def running(bundle_path: Path, host: str, port: int) -> Iterator[tuple[str, subprocess.Popen]]:
    """Serve a bundle (a model.tar.gz, unpacked into a temporary folder, or a bundle folder); yields (URL, process)."""
    with tempfile.TemporaryDirectory(prefix="bundle-") as folder:
        model_dir = bundle_path if bundle_path.is_dir() else bundle.unpack(bundle_path, Path(folder))
        process = serving.spawn(model_dir, host, port)
        url = f"http://{host}:{port}"
        try:
            try:
                client.wait_until_ready(url, process)
            except (RuntimeError, TimeoutError) as error:
                raise ProjectError(f"serving {bundle_path} failed: {error}") from error
            yield url, process
        finally:
            process.terminate()
            process.wait(timeout=10)
