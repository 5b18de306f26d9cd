"""Request bodies to Python values, one decoder per media type; every failure is a 4xx `PayloadError`.

A decoder reads only the client's bytes, so whatever goes wrong is the client's: a malformed
body (400), deep nesting, integers past Python's digit limit, a CSV field past the csv module's
limit (400), an image or npy header claiming more memory than there is (413).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

from .codecs import MAX_IMAGE_PIXELS, PayloadError

Decoder = Callable[[bytes], object]


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


def _json(document: str) -> object:
    return json.loads(document, parse_constant=_refuse_constant, parse_int=_integer)


def _refuse_constant(name: str) -> float:
    raise PayloadError(400, f"body is not valid JSON: {name} is not a number JSON allows")


def _integer(digits: str) -> int:
    try:
        return int(digits)
    except ValueError as error:  # past sys.get_int_max_str_digits()
        raise PayloadError(400, f"body is not valid JSON: an integer of {len(digits)} digits is too long") from error
