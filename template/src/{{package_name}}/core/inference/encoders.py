"""A handler's result to a response body, one encoder per media type (a batch is one item per line or row)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

from ..basics.config import flatten

Encoder = Callable[[object], "str | bytes"]


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
