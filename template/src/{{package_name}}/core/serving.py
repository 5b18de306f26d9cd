"""A local endpoint with the HTTP contract of SageMaker's inference containers.

`python -m <package>.core.serving MODEL_DIR` serves an unpacked bundle the way the container
does: `MODEL_DIR/code` goes first on `sys.path`, the entry point (`SAGEMAKER_PROGRAM`, default
`inference.py`) is imported from there, and its own `model_fn`, `input_fn`, `predict_fn` and
`output_fn` (or `transform_fn`) answer the requests. `spawn` starts it in a fresh process, so
the bundle's copy of the code is what runs, not this project's source tree.

    GET  /ping         200 once the model is loaded, 503 before
    POST /invocations  Content-Type and Accept honoured; errors are JSON {"error": ...};
                       X-Amzn-SageMaker-Custom-Attributes reaches handlers through `context`;
                       a body over the endpoint type's limit (MAX_BODY_BYTES) gets 413

Bad input is never a 500: whatever `input_fn` raises without a status of its own is a 400.
The handlers run in worker threads, at most `workers()` at a time, so the event loop keeps
reading requests and `/ping` answers while a long request runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import importlib
import inspect
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
import yaml
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .errors import one_line

# The largest request SageMaker passes on, by the `deploy.endpoint_type` of the bundle's config.yaml.
# Async requests wait in S3 (up to 1 GB) and reach the container whole, so the local server takes
# them whole too (in memory, as the container does); real-time and serverless refuse larger ones.
MAX_BODY_BYTES = {"serverless": 4 * 1024 * 1024, "realtime": 6 * 1024 * 1024, "async": 1024 * 1024 * 1024}
TEXT_TYPES = ("application/json", "text/csv", "text/plain")  # handed to input_fn as str (if UTF-8)
DEFAULT_PORT = 8080
CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"
MAX_CUSTOM_ATTRIBUTES = 1024
MAX_ERROR_CHARS = 500  # an error message quoting the request is cut here
# Handler calls at once: 1, as in each of the container's model workers, so handlers need not be
# thread-safe; its knob for more workers lets N threads share the one model instead. A thread pool
# of its own (not anyio's to_thread and its limiter) costs the least: ~1.3x anyio's throughput here.
WORKERS = "SAGEMAKER_MODEL_SERVER_WORKERS"
log = logging.getLogger("endpoint")


class BadRequest(Exception):
    """A request `input_fn` could not decode, though it gave no HTTP status: the client's fault (400)."""

    status_code = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


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
            self.model = _call(self.module.model_fn, RequestContext(self.model_dir, {}), str(self.model_dir))
            self.ready = True
        except BaseException as error:  # reported through /ping and the exit code
            log.exception("loading the model failed")
            self.error = error

    def invoke(self, body: bytes, content_type: str, accept: str, headers: dict[str, str]) -> tuple[bytes, str]:
        """Answer one request with the bundle's handlers."""
        context = RequestContext(self.model_dir, headers)
        data = _text(body) if _media(content_type) in TEXT_TYPES else body
        transform = getattr(self.module, "transform_fn", None)
        if transform:
            result = _call(transform, context, self.model, data, content_type, accept)
        else:
            parsed = _decode(self.module.input_fn, context, data, content_type)
            prediction = _call(self.module.predict_fn, context, parsed, self.model)
            result = _call(self.module.output_fn, context, prediction, accept)
        body_out, type_out = result if isinstance(result, tuple) else (result, accept)
        return (body_out.encode() if isinstance(body_out, str) else bytes(body_out)), type_out


class RequestContext:
    """What the serving toolkit's context offers a handler that takes a trailing `context`."""

    def __init__(self, model_dir: Path, headers: dict[str, str]):
        self.system_properties = {"model_dir": str(model_dir)}
        self.request_processor = [_RequestProperties(headers)]

    @property
    def custom_attributes(self) -> str | None:
        """The request's X-Amzn-SageMaker-Custom-Attributes header."""
        return self.request_processor[0].get_request_properties().get(CUSTOM_ATTRIBUTES.lower())


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
    endpoint_type = endpoint_type_of(endpoint.model_dir)
    limit = MAX_BODY_BYTES[endpoint_type]
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
            return _error(413, f"payload larger than {limit} bytes, the limit of {endpoint_type} endpoints")
        if len(request.headers.get(CUSTOM_ATTRIBUTES, "")) > MAX_CUSTOM_ATTRIBUTES:
            return _error(400, f"{CUSTOM_ATTRIBUTES} is longer than {MAX_CUSTOM_ATTRIBUTES} characters")
        content_type = request.headers.get("content-type", "application/json")
        accept = request.headers.get("accept", "*/*")
        if accept.strip() in ("", "*/*"):
            accept = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "application/json")
        headers = dict(request.headers)
        try:
            invoke = functools.partial(endpoint.invoke, body, content_type, accept, headers)
            answer, answer_type = await asyncio.get_running_loop().run_in_executor(handlers, invoke)
        except Exception as error:  # every handler error becomes an HTTP answer
            return _handler_error(error)
        return Response(answer, media_type=answer_type)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        handlers.shutdown(wait=False, cancel_futures=True)  # a hung handler must not hold the exit

    routes = [Route("/ping", ping), Route("/invocations", invocations, methods=["POST"])]
    return Starlette(routes=routes, lifespan=lifespan)


def endpoint_type_of(model_dir: Path) -> str:
    """The `deploy.endpoint_type` in the bundle's config.yaml (serverless, the default, when it has none)."""
    config = Path(model_dir) / "config.yaml"
    found = yaml.safe_load(config.read_text()) if config.is_file() else None
    kind = ((found or {}).get("deploy") or {}).get("endpoint_type", "serverless")
    return kind if kind in MAX_BODY_BYTES else "serverless"


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
    module = f"{__name__.split('.')[0]}.core.serving"
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


def _decode(input_fn, context: RequestContext, data: str | bytes, content_type: str):
    """`input_fn`'s answer; what it raises without a status of its own is the request's fault (400)."""
    try:
        return _call(input_fn, context, data, content_type)
    except Exception as error:
        if _status(error) is not None:
            raise
        raise BadRequest(f"the request could not be decoded: {type(error).__name__}: {one_line(error)}") from error


def _call(handler, context: RequestContext, *args):
    """Call a handler, adding the trailing `context` argument when it takes one (as the toolkit does)."""
    return handler(*args, context) if _takes_context(handler, len(args)) else handler(*args)


@functools.cache
def _takes_context(handler, n_args: int) -> bool:
    return len(inspect.signature(handler).parameters) == n_args + 1


def _media(header: str) -> str:
    return header.split(";")[0].strip().lower()


def _status(error: Exception) -> int | None:
    """The HTTP status an error carries (a 4xx or 5xx `status_code`), if any."""
    status = 400 if isinstance(error, UnicodeDecodeError) else getattr(error, "status_code", None)
    return status if isinstance(status, int) and 400 <= status < 600 else None


def _handler_error(error: Exception) -> Response:
    status = _status(error)
    if status is None:
        log.exception("the model's handler failed")
        return _error(500, f"{type(error).__name__}: {error}")
    if status >= 500:
        log.error("the model's handler failed: %s", one_line(error))
    return _error(status, getattr(error, "message", None) or str(error))


def _error(status: int, message: str) -> Response:
    """A JSON error: one line of valid UTF-8, cut at MAX_ERROR_CHARS."""
    text = one_line(message, MAX_ERROR_CHARS).encode("utf-8", "replace").decode("utf-8")
    return JSONResponse({"error": text}, status_code=status)


if __name__ == "__main__":
    sys.exit(main())
