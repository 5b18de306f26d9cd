"""An unpacked bundle's entry point, imported and called as SageMaker's container does.

`MODEL_DIR/code` goes first on `sys.path`, the entry point (`SAGEMAKER_PROGRAM`, default
`inference.py`) is imported from there, its `model_fn` loads the model once, and its own
`input_fn`, `predict_fn` and `output_fn` (or `transform_fn`) answer each request. Requests reach
the handlers as SageMaker's handler service passes them (JSON and CSV bodies decoded as UTF-8,
the context as a trailing argument); errors are answered by core/inference/handling.py.
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from types import ModuleType

from . import handling

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


def _text(body: bytes) -> str | bytes:
    """A text type's body as str, as the container hands it over; bytes that are not UTF-8 stay
    bytes, for `input_fn` to refuse (400) or to call a type it does not take (415)."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body
