"""JSON and CSV rows of numbers in, JSON out: the request helpers of models rendered before contracts.

Model folders made before model contracts call `decode`, `encode` and `feature_matrix` from
their `inference.py` and `model.py`; these keep working on top of the codec registry
(core/inference/bodies.py) and `core.inference.instances`. New models declare their media types in their contract
and read instances with `core.inference.instances` directly.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import bodies, decoders, encoders, instances
from .codecs import CSV, JSON, PayloadError, Request, media_type

__all__ = ["CSV", "JSON", "PayloadError", "decode", "encode", "feature_matrix", "media_type"]

DECODERS = {JSON: decoders.decode_json, CSV: decoders.decode_csv}
ENCODERS = {JSON: encoders.encode_json}


def decode(body: str | bytes, content_type: str | None) -> Request:
    """The decoded JSON or CSV request (415 for other types)."""
    return bodies.decode(body, content_type, DECODERS)


def encode(result: object, accept: str | None) -> tuple[str | bytes, str]:
    """The result as JSON, if the client accepts it (else 406)."""
    return bodies.encode(result, accept, ENCODERS)


def feature_matrix(rows: Request | Sequence, feature_names: Sequence[str]) -> list[list[float]]:
    """A request's rows (or a list of rows) as lists of floats in `feature_names` order."""
    return instances.number_rows(rows if isinstance(rows, Request) else Request(JSON, list(rows)), feature_names)
