"""A local endpoint with the HTTP contract of SageMaker's inference containers.

`python -m <package>.core.serving MODEL_DIR` serves an unpacked bundle the way the container
does: `MODEL_DIR/code` goes first on `sys.path`, the entry point (`SAGEMAKER_PROGRAM`, default
`inference.py`) is imported from there, and its own `model_fn`, `input_fn`, `predict_fn` and
`output_fn` (or `transform_fn`) answer the requests. `spawn` starts it in a fresh process, so
the bundle's copy of the code is what runs, not this project's source tree.

    GET  /ping         200 once the model is loaded, 503 before
    POST /invocations  Content-Type and Accept honoured; errors are JSON {"error": ...};
                       X-Amzn-SageMaker-Custom-Attributes reaches handlers through `context`;
                       a body over the endpoint type's limit gets 413 before it is read whole

Requests go through the handlers as SageMaker's handler service passes them (JSON and CSV
bodies decoded as UTF-8, the context as a trailing argument), and errors are answered by
core/inference/handling.py, as under TorchServe: `serve --engine torchserve` runs that production stack.
The handlers run in worker threads, at most `workers()` at a time, so the event loop keeps
reading requests and `/ping` answers while a long request runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import importlib
import logging
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import IO

import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import handling

DEFAULT_PORT = 8080
# Handler calls at once: 1, as in each of the container's model workers, so handlers need not be
# thread-safe; its knob for more workers lets N threads share the one model instead. A thread pool
# of its own (not anyio's to_thread and its limiter) costs the least: ~1.3x anyio's throughput here.
WORKERS = "SAGEMAKER_MODEL_SERVER_WORKERS"
log = logging.getLogger("endpoint")


class Endpoint:
    """A bundle's handler functions and the model they loaded."""

    def __init__(self, model_dir: Path, program: str = "inference.py"):
        self.model_dir = Path(model_dir)
        self.program = program
        self.model = None
        self.ready = False
        self.error: BaseException | None = None

    def load(self) -> None:
        """Import the entry point and call its `model_fn`, as the container does at start-up."""
        try:
            self.module = import_entry_point(self.model_dir, self.program)
            self.transform = handling.transform_fn(self.module)
            if not getattr(getattr(self.module, "transform_fn", None), "answers_errors", False):
                log.warning("%s does not answer errors itself: endpoints send tracebacks (rebundle)", self.program)
            self.model = handling.call(self.module.model_fn, RequestContext(self.model_dir, {}), str(self.model_dir))
            self.ready = True
        except BaseException as error:  # reported through /ping and the exit code
            log.exception("loading the model failed")
            self.error = error

    def invoke(self, body: bytes, content_type: str, accept: str, headers: dict[str, str]) -> tuple[int, bytes, str]:
        """Answer one request with the bundle's handlers: (status, body, media type)."""
        context = RequestContext(self.model_dir, headers)
        # As SageMaker's handler service: the types it decodes as UTF-8 (an exact match) reach the
        # handlers as str, unless the entry point asked for raw bodies (bundles do).
        data = _text(body) if content_type in handling.UTF8_TYPES else body
        answer, media_type = self.transform(self.model, data, content_type, accept, context)
        return context.status, answer, media_type


class RequestContext:
    """What the serving toolkit's context offers a handler that takes a trailing `context`."""

    def __init__(self, model_dir: Path, headers: dict[str, str]):
        self.system_properties = {"model_dir": str(model_dir)}
        self.request_processor = [_RequestProperties(headers)]
        self.status = 200

    @property
    def custom_attributes(self) -> str | None:
        """The request's X-Amzn-SageMaker-Custom-Attributes header (this server only: handlers
        that run on endpoints too call `handling.custom_attributes(context)`)."""
        return handling.custom_attributes(self)

    def get_request_header(self, idx: int, key: str) -> str | None:
        """A request header, as TorchServe's context gives it."""
        return handling.header(self, key)

    def set_response_status(self, code: int = 200, phrase: str = "") -> None:
        self.status = code


class _RequestProperties:
    def __init__(self, headers: dict[str, str]):
        self.headers = headers

    def get_request_properties(self) -> dict[str, str]:
        return self.headers


def import_entry_point(model_dir: Path, program: str) -> ModuleType:
    """Import the entry point module from `model_dir/code`."""
    code_dir = str(Path(model_dir) / "code")
    if code_dir not in sys.path:
        sys.path.insert(0, code_dir)
    module = importlib.import_module(Path(program).stem)
    has_pipeline = all(hasattr(module, f) for f in ("input_fn", "predict_fn", "output_fn"))
    if not hasattr(module, "model_fn") or not (has_pipeline or hasattr(module, "transform_fn")):
        raise ImportError(f"{program} must define model_fn and input/predict/output_fn or transform_fn")
    return module


def create_app(endpoint: Endpoint) -> Starlette:
    """The ASGI app serving `endpoint`."""
    endpoint_type, limit = handling.body_limit(str(endpoint.model_dir))
    handlers = ThreadPoolExecutor(workers(), thread_name_prefix="handler")  # requests beyond it wait their turn

    async def ping(request: Request) -> Response:
        return JSONResponse({"status": "healthy" if endpoint.ready else "loading"}, 200 if endpoint.ready else 503)

    async def invocations(request: Request) -> Response:
        if not endpoint.ready:
            return _error(503, "the model is not loaded yet")
        try:
            body = await _read_limited(request, limit)
        except ClientDisconnect:  # nobody is left to answer
            log.info("a client went away while sending its request")
            return Response(status_code=400)
        if body is None:
            return _error(413, handling.too_large(limit, endpoint_type))
        content_type = request.headers.get("content-type", "application/json")
        accept = request.headers.get("accept", "*/*")
        if accept.strip() in ("", "*/*"):
            accept = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "application/json")
        headers = dict(request.headers)
        try:
            invoke = functools.partial(endpoint.invoke, body, content_type, accept, headers)
            status, answer, answer_type = await asyncio.get_running_loop().run_in_executor(handlers, invoke)
        except Exception as error:  # the handlers answer their own errors; this is the server's
            log.exception("answering a request failed")
            return _error(500, f"{type(error).__name__}: {error}")
        return Response(answer, status_code=status, media_type=answer_type)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        handlers.shutdown(wait=False, cancel_futures=True)  # a hung handler must not hold the exit

    routes = [Route("/ping", ping), Route("/invocations", invocations, methods=["POST"])]
    return Starlette(routes=routes, lifespan=lifespan)


def workers() -> int:
    """How many requests the handlers work on at once (`SAGEMAKER_MODEL_SERVER_WORKERS`, default 1)."""
    value = os.environ.get(WORKERS, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else 1


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


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is larger than `limit` (the rest is read and dropped,
    so the client gets the answer instead of a reset connection)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
    return b"".join(chunks) if size <= limit else None


def _exit_with_parent(parent: int, server: uvicorn.Server) -> None:
    """Stop `server` once process `parent` is gone (this process then has another parent)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    server.should_exit = True


def _text(body: bytes) -> str | bytes:
    """A text type's body as str, as the container hands it over; bytes that are not UTF-8 stay
    bytes, for `input_fn` to refuse (400) or to call a type it does not take (415)."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body


def _error(status: int, message: str) -> Response:
    """A JSON error of the server's own (the handlers answer theirs), as the handlers write them."""
    return Response(handling.error_body(message), status_code=status, media_type=handling.JSON)


if __name__ == "__main__":
    sys.exit(main())
