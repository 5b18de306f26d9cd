"""The instances in a decoded request, for the kinds of input models take: rows, texts, images.

A model's `predict` calls the one that fits it with what only the model knows (its columns),
so the same JSON list means one row to a tabular model and several texts to a text model, and
a CSV's first line is a header exactly when it names all the model's columns (other columns,
such as the target of a data file, are then ignored).

    rows(request, columns)   JSON (instances/inputs, a row, rows, objects), JSON Lines, CSV, npy
    number_rows(...)         the same rows as floats
    texts(request)           JSON (a text or a list), JSON Lines, text/plain (one text), CSV (one column)
    images(request)          PNG, JPEG (one image), npy (an image, or a batch of them)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .codecs import CSV, JPEG, JSON, JSONLINES, NPY, PNG, TEXT, PayloadError, Request

ROW_TYPES = (JSON, JSONLINES, CSV, NPY)
TEXT_TYPES = (JSON, JSONLINES, TEXT, CSV)
IMAGE_TYPES = (PNG, JPEG, NPY)
MAX_INSTANCES = 10_000


def rows(request: Request, columns: Sequence[str]) -> list[list[object]]:
    """The request's rows, each a list of values in `columns` order."""
    _check_type(request, ROW_TYPES)
    if request.media_type == CSV:
        table = request.value
        if _is_header(table[0], columns):
            header = [cell.strip() for cell in table[0]]
            items: list = [dict(zip(header, line, strict=False)) for line in table[1:]]
        else:
            items = table
    elif request.media_type == NPY:
        array = request.value
        if array.ndim not in (1, 2):
            raise PayloadError(400, f"expected a 1-D row or a 2-D array of rows, got {array.ndim} dimensions")
        items = array.reshape(-1, array.shape[-1]).tolist()
    else:
        items = _json_items(request, is_one=lambda value: isinstance(value, dict) or _is_flat_list(value))
    return [_row(item, columns, index) for index, item in enumerate(_some(items))]


def number_rows(request: Request, columns: Sequence[str]) -> list[list[float]]:
    """The request's rows as finite floats in `columns` order (a model whose inputs are all numbers)."""
    return [numbers(row, f"row {index}") for index, row in enumerate(rows(request, columns))]


def numbers(values: Sequence[object], where: str) -> list[float]:
    """`values` as finite floats (numbers or numeric strings; booleans are refused)."""
    converted = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise PayloadError(400, f"{where}: values must be numbers, got {value!r}")
        try:
            number = float(value)
        except (ValueError, OverflowError) as error:  # OverflowError: an integer past the float range
            raise PayloadError(400, f"{where}: values must be numbers, got {value!r}") from error
        if not math.isfinite(number):
            raise PayloadError(400, f"{where}: values must be finite numbers")
        converted.append(number)
    return converted


def texts(request: Request) -> list[str]:
    """The request's texts."""
    _check_type(request, TEXT_TYPES)
    if request.media_type == TEXT:
        items: list = [request.value]
    elif request.media_type == CSV:
        if any(len(line) != 1 for line in request.value):
            raise PayloadError(400, "a CSV request holds one text per line (quote texts with commas)")
        items = [line[0] for line in request.value]
    else:
        items = _json_items(request, is_one=lambda value: isinstance(value, str))
    for index, item in enumerate(_some(items)):
        if not isinstance(item, str) or not item.strip():
            raise PayloadError(400, f"instance {index}: expected a non-empty text, got {item!r}")
    return items


def images(request: Request) -> list:
    """The request's images: Pillow images, or numpy arrays of shape (height, width[, channels])."""
    _check_type(request, IMAGE_TYPES)
    if request.media_type != NPY:
        return [request.value]
    array = request.value
    if array.ndim in (2, 3):
        return [array]
    if array.ndim == 4:
        return list(_some(list(array)))
    raise PayloadError(400, f"expected an image (2 or 3 dimensions) or a batch (4), got {array.ndim} dimensions")


def _check_type(request: Request, accepted: tuple[str, ...]) -> None:
    if request.media_type not in accepted:
        raise PayloadError(415, f"this model does not take '{request.media_type}': send one of {', '.join(accepted)}")


def _json_items(request: Request, is_one) -> list:
    """JSON: `{"instances": [...]}`, `{"inputs": [...]}`, a list, or one instance; JSON Lines: one per line."""
    value = request.value
    if request.media_type == JSONLINES:
        return value
    if isinstance(value, dict) and len(value) == 1 and ("instances" in value or "inputs" in value):
        value = next(iter(value.values()))
    if is_one(value):
        return [value]
    if not isinstance(value, list):
        raise PayloadError(400, 'JSON body must be an instance, a list of them, or {"instances": [...]}')
    return value


def _some(items: list) -> list:
    if not items:
        raise PayloadError(400, "the request has no instances")
    if len(items) > MAX_INSTANCES:
        raise PayloadError(413, f"the request has {len(items)} instances; send at most {MAX_INSTANCES}")
    return items


def _row(item: object, columns: Sequence[str], index: int) -> list[object]:
    if isinstance(item, dict):
        missing = [name for name in columns if name not in item]
        if missing:
            raise PayloadError(400, f"row {index}: missing column(s) {missing}")
        return [item[name] for name in columns]
    if not isinstance(item, list) or len(item) != len(columns):
        raise PayloadError(400, f"row {index}: expected {len(columns)} values ({', '.join(columns)})")
    return item


def _is_header(line: list[str], columns: Sequence[str]) -> bool:
    """A first CSV line naming every one of the model's columns (in any order, among others) is a header."""
    return set(columns) <= {cell.strip() for cell in line}


def _is_flat_list(value: object) -> bool:
    return isinstance(value, list) and bool(value) and not isinstance(value[0], (list, dict))
