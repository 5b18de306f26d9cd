"""A local endpoint with the HTTP contract of SageMaker's inference containers, in a process of its own.

`python -m <package>.core.inference.serving MODEL_DIR` serves an unpacked bundle the way the
container does (core/inference/entry_point.py loads it, core/inference/app.py answers /ping and
/invocations). `spawn` starts it in a fresh process, so the bundle's copy of the code is what
runs, not this project's source tree. Errors are answered by core/inference/handling.py, as under
TorchServe: `serve --engine torchserve` runs that production stack.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import uvicorn

from .app import create_app
from .entry_point import Endpoint

DEFAULT_PORT = 8080
log = logging.getLogger("endpoint")


def serve(model_dir: Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT, parent: int | None = None) -> int:
    """Serve the unpacked bundle in `model_dir` until interrupted or process `parent` is gone; returns an exit code."""
    endpoint = Endpoint(model_dir, os.environ.get("SAGEMAKER_PROGRAM", "inference.py"))
    server = uvicorn.Server(uvicorn.Config(create_app(endpoint), host=host, port=port, log_level="warning"))
    if parent:
        threading.Thread(target=_exit_with_parent, args=(parent, server), daemon=True).start()

    def load() -> None:
        endpoint.load()
        if endpoint.error:
            server.should_exit = True
        else:
            log.info("model loaded; serving on http://%s:%d", host, port)

    threading.Thread(target=load, daemon=True).start()
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn raises Ctrl-C again once it has stopped
        server.run()
    return 1 if endpoint.error else 0


def spawn(
    model_dir: Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT, output: IO | None = None
) -> subprocess.Popen:
    """Start a server process for the unpacked bundle in `model_dir`, with only its code (its log to `output`).

    It runs in a session of its own (a terminal's Ctrl-C reaches the caller, who stops it) and
    exits by itself when the caller is gone.
    """
    code_dir = Path(model_dir).resolve() / "code"
    env = {**os.environ, "PYTHONPATH": str(code_dir)}
    module = f"{__name__.split('.')[0]}.core.inference.serving"
    command = [sys.executable, "-m", module, str(code_dir.parent), "--host", host, "--port", str(port)]
    command += ["--parent", str(os.getpid())]
    return subprocess.Popen(command, env=env, cwd=code_dir.parent, start_new_session=True, stdout=output, stderr=output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve an unpacked model bundle like a SageMaker endpoint.")
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SAGEMAKER_BIND_TO_PORT", DEFAULT_PORT)))
    parser.add_argument("--parent", type=int, help="stop when the process of this id is gone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return serve(args.model_dir, args.host, args.port, args.parent)


def _exit_with_parent(parent: int, server: uvicorn.Server) -> None:
    """Stop `server` once process `parent` is gone (this process then has another parent)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    server.should_exit = True


if __name__ == "__main__":
    sys.exit(main())
