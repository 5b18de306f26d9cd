"""The endpoint's HTTP routes as an ASGI app: `/ping` and `/invocations`, as SageMaker's containers answer them.

    GET  /ping         200 once the model is loaded, 503 before
    POST /invocations  Content-Type and Accept honoured; errors are JSON {"error": ...};
                       X-Amzn-SageMaker-Custom-Attributes reaches handlers through `context`;
                       a body over the endpoint type's limit gets 413 before it is read whole

The handlers run in worker threads, at most `workers()` at a time, so the event loop keeps
reading requests and `/ping` answers while a long request runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from concurrent.futures import ThreadPoolExecutor

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import handling
from .entry_point import Endpoint

# Handler calls at once: 1, as in each of the container's model workers, so handlers need not be
# thread-safe; its knob for more workers lets N threads share the one model instead. A thread pool
# of its own (not anyio's to_thread and its limiter) costs the least: ~1.3x anyio's throughput here.
WORKERS = "SAGEMAKER_MODEL_SERVER_WORKERS"
log = logging.getLogger("endpoint")


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


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is larger than `limit` (the rest is read and dropped,
    so the client gets the answer instead of a reset connection)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
    return b"".join(chunks) if size <= limit else None


def _error(status: int, message: str) -> Response:
    """A JSON error of the server's own (the handlers answer theirs), as the handlers write them."""
    return Response(handling.error_body(message), status_code=status, media_type=handling.JSON)
