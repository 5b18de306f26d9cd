"""Request bodies decoded and answers encoded by media type: the registries of decoders and encoders, and negotiation.

The `Content-Type` header picks the decoder, the `Accept` header (q-values honoured) the encoder.
A model's contract may add or replace entries (see core/catalog/contract.py); nothing here knows
what a model does with the values. `decode` makes every failure of a decoder a 4xx (a decoder
reads only the client's bytes); an answer that cannot be encoded (NaN or infinity in JSON, a
value JSON has no form for) is the model's fault, not the client's: `encode` refuses it with a
500 that says why, never an invalid body.
"""

from __future__ import annotations

from collections.abc import Mapping

import mimeparse

from ..basics.errors import one_line
from .codecs import CSV, JPEG, JSON, JSONLINES, NPY, PNG, TEXT, PayloadError, Request, media_type
from .decoders import Decoder, decode_csv, decode_json, decode_jsonlines, decode_npy, decode_text, image_decoder
from .encoders import Encoder, encode_csv, encode_json, encode_jsonlines

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
