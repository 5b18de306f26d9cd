"""What request and response bodies are called: media types, the decoded `Request`, and `PayloadError`.

    application/json         any JSON value
    application/jsonlines    one JSON value per line (a batch)
    text/csv                 rows of cells (strings); whether the first is a header is the model's call
    text/plain               the text
    application/x-npy        a numpy array (no pickles)
    image/png, image/jpeg    a Pillow image, checked to be of the type it claims

A `PayloadError` carries the HTTP status a client should get: 400 for a malformed body, 415 for
a type nobody decodes, 406 when nothing acceptable can be produced, 413 for a body too large to
decode, 500 for an answer that cannot be encoded. In the SageMaker container it is the toolkit's
own error type, so the endpoint answers with that status instead of a generic 500.
"""

from __future__ import annotations

from dataclasses import dataclass

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
