"""What model code names about request and response bodies: media types, the decoded `Request`, `PayloadError`.

    application/json         any JSON value
    application/jsonlines    one JSON value per line (a batch)
    text/csv                 rows of cells (strings); whether the first is a header is the model's call
    text/plain               the text
    application/x-npy        a numpy array (no pickles)
    image/png, image/jpeg    a Pillow image, checked to be of the type it claims

Which decoder reads a body and which encoder writes an answer is core/inference/bodies.py's job.
A `PayloadError` carries the HTTP status a client should get: 400 for a malformed body, 415 for
a type nobody decodes, 406 when nothing acceptable can be produced, 413 for a body too large to
decode, 500 for an answer that cannot be encoded. In the SageMaker container it is the toolkit's
own error type, so the endpoint answers with that status instead of a generic 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

try:  # in the SageMaker container: the toolkit maps this error type to its status code
    from sagemaker_inference.errors import GenericInferenceToolkitError as _StatusError
except ImportError:  # locally: the same shape (status_code, message)

    class _StatusError(Exception):
        def __init__(self, status_code: int, message: str = "", phrase: str = ""):
            super().__init__(status_code, message, phrase)
            self.status_code, self.message, self.phrase = status_code, message, phrase


JSON = "application/json"
JSONLINES = "application/jsonlines"
CSV = "text/csv"
TEXT = "text/plain"
NPY = "application/x-npy"
PNG = "image/png"
JPEG = "image/jpeg"
MAX_IMAGE_PIXELS = 4096 * 4096  # larger images are refused (413) before they are decoded
SUFFIXES = {
    ".json": JSON,
    ".jsonl": JSONLINES,
    ".csv": CSV,
    ".txt": TEXT,
    ".npy": NPY,
    ".png": PNG,
    ".jpg": JPEG,
    ".jpeg": JPEG,
}


class PayloadError(_StatusError):
    """A request the model cannot answer, with the HTTP status that says why."""

    def __init__(self, status_code: int, message: str):
        super().__init__(status_code, message)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Request:
    """A decoded request body: what it was sent as, and its value."""

    media_type: str
    value: object


def media_type(header: str | None, default: str = JSON) -> str:
    """The bare media type of a Content-Type header (`text/csv; charset=utf-8` -> `text/csv`)."""
    value = (header or "").split(",")[0].split(";")[0].strip().lower()
    return default if value in ("", "*/*") else value


def media_type_of(path: Path) -> str:
    """The media type of a request body file, by its suffix (JSON when unknown)."""
    return SUFFIXES.get(path.suffix.lower(), JSON)
