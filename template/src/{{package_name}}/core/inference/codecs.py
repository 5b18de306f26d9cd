"""Request and response bodies by media type: a registry of decoders and encoders.

A decoder turns a request body into a `Request` (its media type and a plain Python value); an
encoder turns a handler's result into a response body. Which one runs is chosen by the
`Content-Type` and `Accept` headers (Accept lists with q-values are honoured). A model's
contract may add or replace entries (see core/catalog/contract.py); nothing here knows what a model
does with the values.

    application/json         any JSON value
    application/jsonlines    one JSON value per line (a batch)
    text/csv                 rows of cells (strings); whether the first is a header is the model's call
    text/plain               the text
    application/x-npy        a numpy array (no pickles)
    image/png, image/jpeg    a Pillow image, checked to be of the type it claims

Errors carry the HTTP status a client should get: 400 for a malformed body, 415 for a type
nobody decodes, 406 when nothing acceptable can be produced, 413 for a body too large to
decode. `decode` makes every failure of a decoder a 4xx (a decoder reads only the client's
bytes): deep nesting, integers past Python's digit limit, a CSV field past the csv module's
limit, an npy header claiming more memory than there is. An answer that cannot be encoded
(NaN or infinity in JSON, a value JSON has no form for) is the model's fault, not the client's:
`encode` refuses it with a 500 that says why, never an invalid body. In the SageMaker container
they are the toolkit's own error type, so the endpoint answers with that status instead of a
generic 500.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import mimeparse

from ..basics.config import flatten
from ..basics.errors import one_line

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


Decoder = Callable[[bytes], object]
Encoder = Callable[[object], "str | bytes"]


def media_type(header: str | None, default: str = JSON) -> str:
    """The bare media type of a Content-Type header (`text/csv; charset=utf-8` -> `text/csv`)."""
    value = (header or "").split(",")[0].split(";")[0].strip().lower()
    return default if value in ("", "*/*") else value


def media_type_of(path: Path) -> str:
    """The media type of a request body file, by its suffix (JSON when unknown)."""
    return SUFFIXES.get(path.suffix.lower(), JSON)


def decode(body: str | bytes, content_type: str | None, decoders: Mapping[str, Decoder] | None = None) -> Request:
    """The `Request` in `body`, decoded by the decoder registered for its content type."""
    decoders = DECODERS if decoders is None else decoders
    kind = media_type(content_type)
    if kind not in decoders:
        raise PayloadError(415, f"unsupported content type '{kind}': send one of {', '.join(sorted(decoders))}")
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)
    try:
        return Request(kind, decoders[kind](raw))
    except PayloadError:
        raise
    except RecursionError as error:
        raise PayloadError(400, f"body is not valid {kind}: nested too deeply") from error
    except MemoryError as error:
        raise PayloadError(413, f"body is too large to decode as {kind}") from error
    except Exception as error:  # a decoder reads only the client's bytes: any failure is theirs
        raise PayloadError(400, f"body is not valid {kind}: {one_line(error)}") from error


def encode(
    result: object, accept: str | None, encoders: Mapping[str, Encoder] | None = None
) -> tuple[str | bytes, str]:
    """A response body and its media type: the best of `encoders` for an `accept` header."""
    encoders = ENCODERS if encoders is None else encoders
    kind = negotiate(accept, list(encoders))
    try:
        return encoders[kind](result), kind
    except (ValueError, TypeError, RecursionError) as error:  # the model's answer, not the request
        raise PayloadError(500, f"the model's answer cannot be sent as {kind}: {one_line(error)}") from error


def negotiate(accept: str | None, offered: list[str]) -> str:
    """The media type of `offered` that `accept` prefers (the first offered when any will do)."""
    header = (accept or "").strip() or "*/*"
    try:
        # mimeparse prefers the later of equally good matches; offer in reverse to keep our order.
        best = mimeparse.best_match(list(reversed(offered)), header)
    except (mimeparse.MimeTypeParseException, ValueError, IndexError) as error:
        raise PayloadError(400, f"malformed Accept header '{header}'") from error
    if not best:
        raise PayloadError(406, f"cannot answer with '{header}': accept one of {', '.join(offered)}")
    return best


def text(body: bytes) -> str:
    """`body` as UTF-8 text (a BOM is dropped)."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise PayloadError(400, f"body is not UTF-8 text: {error}") from error


def decode_json(body: bytes) -> object:
    try:
        return _json(text(body))
    except json.JSONDecodeError as error:
        raise PayloadError(400, f"body is not valid JSON: {error}") from error


def decode_jsonlines(body: bytes) -> list:
    values = []
    for number, line in enumerate(text(body).splitlines(), start=1):
        if line.strip():
            try:
                values.append(_json(line))
            except json.JSONDecodeError as error:
                raise PayloadError(400, f"line {number} is not valid JSON: {error}") from error
    if not values:
        raise PayloadError(400, "the request has no lines")
    return values


def decode_csv(body: bytes) -> list[list[str]]:
    try:
        rows = [row for row in csv.reader(io.StringIO(text(body), newline=""), strict=True) if row]
    except csv.Error as error:
        raise PayloadError(400, f"body is not valid CSV: {error}") from error
    if not rows:
        raise PayloadError(400, "the request has no rows")
    return rows


def decode_text(body: bytes) -> str:
    value = text(body)
    if not value.strip():
        raise PayloadError(400, "the request has no text")
    return value


def decode_npy(body: bytes):
    import numpy

    try:
        array = numpy.load(io.BytesIO(body), allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise PayloadError(400, f"body is not a .npy array: {error}") from error
    if array.dtype.kind not in "biuf":
        raise PayloadError(400, f"the array must hold numbers, not {array.dtype}")
    return array


def image_decoder(kind: str) -> Decoder:
    """A decoder for images of Pillow format `kind` (PNG, JPEG, ...)."""

    def decode_image(body: bytes):
        from PIL import Image, UnidentifiedImageError

        try:
            image = Image.open(io.BytesIO(body))
        except UnidentifiedImageError as error:
            raise PayloadError(400, f"body is not a {kind} image") from error
        except Image.DecompressionBombError as error:
            raise PayloadError(413, f"image too large to decode: {error}") from error
        if image.format != kind:
            raise PayloadError(400, f"body is a {image.format} image, not {kind}")
        if image.width * image.height > MAX_IMAGE_PIXELS:
            raise PayloadError(413, f"image of {image.width}x{image.height} pixels is too large to decode")
        try:
            image.load()
        except (OSError, ValueError, SyntaxError) as error:
            raise PayloadError(400, f"the {kind} image is damaged: {error}") from error
        return image

    return decode_image


def encode_json(result: object) -> str:
    """Strict JSON: NaN and infinity are refused, not written as words JSON does not have."""
    return json.dumps(result, allow_nan=False)


def encode_jsonlines(result: object) -> str:
    """One line per prediction (`{"predictions": [...]}`, or a list)."""
    return "".join(json.dumps(item, allow_nan=False) + "\n" for item in _predictions(result))


def encode_csv(result: object) -> str:
    """One row per prediction; nested fields become `parent.child` columns."""
    rows = [_flat(item) for item in _predictions(result)]
    columns = list(dict.fromkeys(key for row in rows for key in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _predictions(result: object) -> list:
    items = result.get("predictions", [result]) if isinstance(result, dict) else result
    return list(items) if isinstance(items, list) else [items]


def _flat(item: object) -> dict:
    return flatten(item) if isinstance(item, dict) else {"prediction": item}


def _json(document: str) -> object:
    return json.loads(document, parse_constant=_refuse_constant, parse_int=_integer)


def _refuse_constant(name: str) -> float:
    raise PayloadError(400, f"body is not valid JSON: {name} is not a number JSON allows")


def _integer(digits: str) -> int:
    try:
        return int(digits)
    except ValueError as error:  # past sys.get_int_max_str_digits()
        raise PayloadError(400, f"body is not valid JSON: an integer of {len(digits)} digits is too long") from error


def finite(value: float, where: str) -> float:
    """`value` if it is a finite number, else a 400."""
    if not math.isfinite(value):
        raise PayloadError(400, f"{where}: values must be finite numbers")
    return value


DECODERS: dict[str, Decoder] = {
    JSON: decode_json,
    JSONLINES: decode_jsonlines,
    CSV: decode_csv,
    TEXT: decode_text,
    NPY: decode_npy,
    PNG: image_decoder("PNG"),
    JPEG: image_decoder("JPEG"),
}
ENCODERS: dict[str, Encoder] = {JSON: encode_json, JSONLINES: encode_jsonlines, CSV: encode_csv}
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
