"""One request through a bundle's handlers, the same on every server that runs them.

A bundle's entry point (`code/inference.py`, written by `bundle`) exports `model_fn` and one
`transform_fn` made here from the model's handlers. It runs `input_fn` -> `predict_fn` ->
`output_fn` (or the model's own `transform_fn`) and turns every error into a JSON answer
`{"error": ...}` with its HTTP status, set on the request's context. So our server
(core/inference/serving.py) and TorchServe with SageMaker's handler service (what an endpoint runs)
answer a bad request alike, and no traceback reaches a client: it stays in the server's log.
The entry point also calls `receive_raw_bodies()`, so that SageMaker's handler service hands JSON
and CSV bodies over undecoded, as every other type: it would decode them itself, before any
handler runs, and answer a body that is not UTF-8 with a 500 and its traceback.

    what fails                                   status
    the request's size or custom attributes      413 / 400
    input_fn, with no HTTP status of its own     400 (the client's request could not be decoded)
    a handler, with a `status_code` 400-599      that status
    a handler, otherwise                         500
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from http import HTTPStatus
from pathlib import Path
from types import ModuleType

import yaml

from ..basics.errors import one_line

JSON = "application/json"
# The largest request SageMaker passes on, by the `deploy.endpoint_type` of the bundle's config.yaml.
# Async requests wait in S3 (up to 1 GB) and reach the container whole, so servers take them whole
# too (in memory, as the container does); real-time and serverless refuse larger ones.
MAX_BODY_BYTES = {"serverless": 4 * 1024 * 1024, "realtime": 6 * 1024 * 1024, "async": 1024 * 1024 * 1024}
CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"
MAX_CUSTOM_ATTRIBUTES = 1024
MAX_ERROR_CHARS = 500  # an error message quoting the request is cut here
# The media types whose bodies a server decodes as UTF-8 before the handlers run: SageMaker's
# handler service's list, emptied in place by `receive_raw_bodies` (core/inference/entry_point.py reads it too).
UTF8_TYPES = ["application/json", "text/csv"]
log = logging.getLogger("endpoint")


class RequestError(Exception):
    """A request refused before or while the handlers read it, with its HTTP status."""

    def __init__(self, status_code: int, message: str):
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def receive_raw_bodies() -> None:
    """Have every server hand request bodies to the handlers as bytes (their codecs decode text)."""
    UTF8_TYPES.clear()
    try:
        from sagemaker_inference import content_types  # the handler service's list, read per request
    except ImportError:  # not under SageMaker's handler service
        return
    content_types.UTF8_TYPES = []


def custom_attributes(context) -> str | None:
    """The request's X-Amzn-SageMaker-Custom-Attributes header, from any server's context."""
    return header(context, CUSTOM_ATTRIBUTES)


def transform_fn(handlers: ModuleType):
    """The one handler of a bundle's entry point: `handlers`' pipeline, answering errors as JSON."""

    def transform(model, data: str | bytes, content_type: str | None, accept: str, context):
        try:
            check_request(data, context)
            return _as_bytes(*_answer(handlers, model, data, content_type or JSON, accept, context))
        except Exception as error:  # every error becomes an answer with its status
            status, message = failure(error)
            context.set_response_status(status, _phrase(status))
            return error_body(message), JSON

    transform.answers_errors = True  # core/inference/entry_point.py tells bundles made so from hand-written ones
    return transform


def check_request(data: str | bytes, context) -> None:
    """Refuse a body over the endpoint type's limit (413) or custom attributes over 1024 characters (400)."""
    endpoint_type, limit = body_limit(context.system_properties.get("model_dir"))
    size = len(data.encode()) if isinstance(data, str) else len(data or b"")
    if size > limit:
        raise RequestError(413, too_large(limit, endpoint_type))
    if len(header(context, CUSTOM_ATTRIBUTES) or "") > MAX_CUSTOM_ATTRIBUTES:
        raise RequestError(400, f"{CUSTOM_ATTRIBUTES} is longer than {MAX_CUSTOM_ATTRIBUTES} characters")


@functools.cache
def body_limit(model_dir: str | None) -> tuple[str, int]:
    """(endpoint type, largest body in bytes) of the bundle in `model_dir` (serverless when unsaid)."""
    config = Path(model_dir or ".") / "config.yaml"
    found = yaml.safe_load(config.read_text()) if model_dir and config.is_file() else None
    kind = ((found or {}).get("deploy") or {}).get("endpoint_type", "serverless")
    kind = kind if kind in MAX_BODY_BYTES else "serverless"
    return kind, MAX_BODY_BYTES[kind]


def too_large(limit: int, endpoint_type: str) -> str:
    return f"payload larger than {limit} bytes, the limit of {endpoint_type} endpoints"


def header(context, name: str) -> str | None:
    """A request header from the serving context, whatever the case of its name."""
    properties = context.request_processor[0].get_request_properties() or {}
    return next((value for key, value in properties.items() if key.lower() == name.lower()), None)


def failure(error: Exception) -> tuple[int, str]:
    """The HTTP status and one-line message answering `error` (a 500 is logged with its traceback)."""
    status = status_of(error)
    if status is None:
        log.error("the model's handler failed", exc_info=error)
        return 500, f"{type(error).__name__}: {error}"
    if status >= 500:
        log.error("the model's handler failed: %s", one_line(error))
    return status, getattr(error, "message", None) or str(error)


def status_of(error: Exception) -> int | None:
    """The HTTP status an error carries (a 4xx or 5xx `status_code`), if any."""
    status = 400 if isinstance(error, UnicodeDecodeError) else getattr(error, "status_code", None)
    return status if isinstance(status, int) and 400 <= status < 600 else None


def error_body(message: str) -> bytes:
    """`{"error": message}`: one line of valid UTF-8, cut at MAX_ERROR_CHARS."""
    text = one_line(message, MAX_ERROR_CHARS).encode("utf-8", "replace").decode("utf-8")
    return json.dumps({"error": text}).encode()


def call(handler, context, *args):
    """Call a handler, adding the trailing `context` argument when it takes one (as the toolkit does)."""
    return handler(*args, context) if _takes_context(handler, len(args)) else handler(*args)


def _answer(handlers: ModuleType, model, data, content_type: str, accept: str, context) -> tuple:
    """(body, media type) from the model's handlers (its media type defaults to `accept`)."""
    own = getattr(handlers, "transform_fn", None)
    if own:
        result = call(own, context, model, data, content_type, accept)
    else:
        request = _decode(handlers.input_fn, context, data, content_type)
        prediction = call(handlers.predict_fn, context, request, model)
        result = call(handlers.output_fn, context, prediction, accept)
    return result if isinstance(result, tuple) else (result, accept)


def _as_bytes(body, media_type: str) -> tuple[bytes, str]:
    """The answer's body as every server sends it: str encoded, bytes as they are, anything else refused."""
    if isinstance(body, str):
        return body.encode(), media_type
    if isinstance(body, bytes | bytearray):
        return bytes(body), media_type
    raise TypeError(f"the model's handlers answered a {type(body).__name__}, not str or bytes")


def _decode(input_fn, context, data: str | bytes, content_type: str):
    """`input_fn`'s answer; what it raises without a status of its own is the request's fault (400)."""
    try:
        return call(input_fn, context, data, content_type)
    except Exception as error:
        if status_of(error) is not None:
            raise
        message = f"the request could not be decoded: {type(error).__name__}: {one_line(error)}"
        raise RequestError(400, message) from error


@functools.cache
def _takes_context(handler, n_args: int) -> bool:
    return len(inspect.signature(handler).parameters) == n_args + 1


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
