"""Request and response bodies of an inference endpoint: JSON and CSV rows in, JSON out.

Accepted request bodies (rows of feature values):
- `application/json`: `{"instances": [...]}`, `{"inputs": [...]}`, a list of rows or one row;
  a row is a list of numbers in feature order or an object keyed by feature name.
- `text/csv`: one row per line, numbers in feature order; a first line of names is a header.

Errors carry the HTTP status a client should get. When SageMaker's inference toolkit is
installed (it is in the serving container) they are its own error type, so the real endpoint
answers 400/415/406 instead of a generic 500.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence

try:  # in the SageMaker container: the toolkit maps this error type to its status code
    from sagemaker_inference.errors import GenericInferenceToolkitError as _StatusError
except ImportError:  # locally: the same shape (status_code, message)

    class _StatusError(Exception):
        def __init__(self, status_code: int, message: str = "", phrase: str = ""):
            super().__init__(status_code, message, phrase)
            self.status_code, self.message, self.phrase = status_code, message, phrase


JSON = "application/json"
CSV = "text/csv"
Row = list[float] | dict[str, float]


class PayloadError(_StatusError):
    """A request the model cannot answer, with the HTTP status that says why."""

    def __init__(self, status_code: int, message: str):
        super().__init__(status_code, message)

    def __str__(self) -> str:
        return self.message


def media_type(header: str | None, default: str = JSON) -> str:
    """The bare media type of a Content-Type or Accept header (`text/csv; charset=utf-8`)."""
    value = (header or "").split(",")[0].split(";")[0].strip().lower()
    return default if value in ("", "*/*") else value


def decode(body: str | bytes, content_type: str | None) -> list[Row]:
    """The rows in a request body of type `content_type`."""
    kind = media_type(content_type)
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError as error:
        raise PayloadError(400, f"body is not UTF-8 text: {error}") from error
    if kind == JSON:
        return _rows_from_json(text)
    if kind == CSV:
        return _rows_from_csv(text)
    raise PayloadError(415, f"unsupported content type '{kind}': send {JSON} or {CSV}")


def encode(result: object, accept: str | None) -> tuple[str, str]:
    """A response body and its content type, for a client that accepts `accept`."""
    kind = media_type(accept)
    if kind != JSON:
        raise PayloadError(406, f"cannot answer with '{kind}': accept {JSON}")
    return json.dumps(result), JSON


def feature_matrix(rows: Sequence[Row], feature_names: Sequence[str]) -> list[list[float]]:
    """Rows as lists of floats in `feature_names` order, checking width and names."""
    if not rows:
        raise PayloadError(400, "the request has no rows")
    return [_row_values(row, feature_names, i) for i, row in enumerate(rows)]


def _rows_from_json(text: str) -> list[Row]:
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise PayloadError(400, f"body is not valid JSON: {error}") from error
    if isinstance(payload, dict) and ("instances" in payload or "inputs" in payload):
        payload = payload.get("instances", payload.get("inputs"))
    if isinstance(payload, dict) or (isinstance(payload, list) and payload and _is_scalar(payload[0])):
        payload = [payload]
    if not isinstance(payload, list):
        raise PayloadError(400, 'JSON body must be a row, a list of rows or {"instances": [...]}')
    return payload


def _rows_from_csv(text: str) -> list[Row]:
    lines = [line for line in csv.reader(io.StringIO(text)) if line]
    if lines and not all(_is_number(cell) for cell in lines[0]):
        header = [cell.strip() for cell in lines[0]]
        return [dict(zip(header, line, strict=False)) for line in lines[1:]]
    return lines


def _row_values(row: object, names: Sequence[str], index: int) -> list[float]:
    if isinstance(row, dict):
        missing = [name for name in names if name not in row]
        if missing:
            raise PayloadError(400, f"row {index}: missing feature(s) {missing}")
        row = [row[name] for name in names]
    if not isinstance(row, list) or len(row) != len(names):
        raise PayloadError(400, f"row {index}: expected {len(names)} values ({', '.join(names)})")
    try:
        values = [float(value) for value in row]
    except (TypeError, ValueError) as error:
        raise PayloadError(400, f"row {index}: values must be numbers ({error})") from error
    if not all(math.isfinite(value) for value in values):
        raise PayloadError(400, f"row {index}: values must be finite numbers")
    return values


def _is_scalar(value: object) -> bool:
    return isinstance(value, (int, float, str)) and not isinstance(value, bool)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
