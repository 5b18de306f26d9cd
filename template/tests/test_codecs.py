"""Request and response codecs: every media type decodes what it should, and refuses the rest with a 4xx."""

import io
import json

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image


def png(width=4, height=3, mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), "blue").save(buffer, format="JPEG")
    return buffer.getvalue()


def npy(array) -> bytes:
    buffer = io.BytesIO()
    numpy.save(buffer, numpy.asarray(array))
    return buffer.getvalue()


def npy_claiming(shape: tuple) -> bytes:
    """A .npy header claiming an array of `shape` (far more memory than there is), and no data."""
    buffer = io.BytesIO()
    numpy.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def test_every_registered_type_decodes_its_own_kind_of_body(core):
    bodies = core.inference.bodies
    assert bodies.decode('{"instances": [1]}', "application/json; charset=utf-8").value == {"instances": [1]}
    assert bodies.decode(b'[1, 2]\n\n{"a": 3}\n', "application/jsonlines").value == [[1, 2], {"a": 3}]
    assert bodies.decode('a,"b, c"\n1,2\n', "text/csv").value == [["a", "b, c"], ["1", "2"]]
    assert bodies.decode("\ufeffhello", "text/plain").value == "hello"
    assert bodies.decode(npy([[1.0, 2.0]]), "application/x-npy").value.tolist() == [[1.0, 2.0]]
    assert bodies.decode(png(), "image/png").value.size == (4, 3)
    assert bodies.decode(jpeg(), "IMAGE/JPEG").value.format == "JPEG"


@pytest.mark.parametrize(
    ("content_type", "body", "status", "message"),
    [
        ("application/json", "{not json", 400, "not valid JSON"),
        ("application/json", b"\xff\xfe", 400, "not UTF-8"),
        ("application/json", "[NaN]", 400, "not a number JSON allows"),
        ("application/json", "[" * 50_000 + "]" * 50_000, 400, "nested too deeply"),
        ("application/json", "[" + "7" * 5000 + "]", 400, "5000 digits is too long"),
        ("application/jsonlines", '[1]\n{"a": ' + "1" * 4301 + "}", 400, "4301 digits"),
        ("application/jsonlines", '{"a": 1}\n{broken', 400, "line 2"),
        ("application/jsonlines", "\n\n", 400, "no lines"),
        ("text/csv", 'a,"b\n', 400, "not valid CSV"),
        ("text/csv", "", 400, "no rows"),
        ("text/csv", b"\x00\xff", 400, "not UTF-8"),
        ("text/csv", "a," + "b" * 200_000, 400, "field larger than field limit"),
        ("text/plain", "   ", 400, "no text"),
        ("text/plain", b"\xc3\x28", 400, "not UTF-8"),
        ("application/x-npy", b"not an array", 400, "not a .npy array"),
        ("application/x-npy", npy(["a", "b"]), 400, "must hold numbers"),
        ("application/x-npy", npy(numpy.array([{"a": 1}], dtype=object)), 400, "not a .npy array"),
        ("application/x-npy", npy_claiming((10**7, 10**7)), 413, "too large to decode"),
        ("image/png", b"GIF89a...", 400, "not a PNG image"),
        ("image/png", jpeg(), 400, "JPEG image, not PNG"),
        ("image/png", png(64, 64)[:-30], 400, "damaged"),
        ("image/png", png(5000, 4000, "L"), 413, "too large"),
        ("image/jpeg", b"", 400, "not a JPEG image"),
        ("application/xml", "<a/>", 415, "unsupported content type"),
        (None, "{}", 200, ""),  # no Content-Type: JSON, as SageMaker assumes
    ],
)
def test_bad_bodies_of_every_codec_are_4xx_with_a_message(core, content_type, body, status, message):
    if status == 200:
        assert core.inference.bodies.decode(body, content_type).media_type == "application/json"
        return
    with pytest.raises(core.inference.codecs.PayloadError) as refused:
        core.inference.bodies.decode(body, content_type)
    assert refused.value.status_code == status and message in str(refused.value)
    assert "\n" not in str(refused.value)  # one line


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("text/csv", "text/csv"),
        ("text/csv;q=0.2, application/jsonlines;q=0.9", "application/jsonlines"),
        ("text/*", "text/csv"),
        ("application/json;q=0, text/csv;q=0.1", "text/csv"),
    ],
)
def test_the_answer_type_follows_accept_with_q_values(core, accept, media_type):
    body, chosen = core.inference.bodies.encode({"predictions": [{"label": "a", "probabilities": {"a": 1.0}}]}, accept)
    assert chosen == media_type
    if chosen == "text/csv":
        assert body == "label,probabilities.a\na,1.0\n"
    if chosen == "application/jsonlines":
        assert json.loads(body) == {"label": "a", "probabilities": {"a": 1.0}}


@pytest.mark.parametrize(("accept", "status"), [("text/html", 406), ("application/json;q=0", 406), ("garbage", 400)])
def test_an_unsatisfiable_or_malformed_accept_is_refused(core, accept, status):
    with pytest.raises(core.inference.codecs.PayloadError) as refused:
        core.inference.bodies.encode({"predictions": []}, accept)
    assert refused.value.status_code == status


@pytest.mark.parametrize(
    ("request_", "reader", "status", "message"),
    [
        (("application/json", [[1, 2, 3]]), "rows", 400, "expected 2 values"),
        (("application/json", {"x": 1}), "rows", 400, "missing column"),
        (("application/json", "a text"), "rows", 400, "JSON body must be"),
        (("application/x-npy", numpy.zeros((2, 2, 2))), "rows", 400, "3 dimensions"),
        (("image/png", None), "rows", 415, "does not take"),
        (("application/json", [1, "two"]), "texts", 400, "expected a non-empty text"),
        (("text/csv", [["a", "b"]]), "texts", 400, "one text per line"),
        (("application/json", []), "texts", 400, "no instances"),
        (("application/json", ["t"] * 10_001), "texts", 413, "at most 10000"),
        (("application/x-npy", numpy.zeros(3)), "images", 400, "1 dimensions"),
        (("text/plain", "x"), "images", 415, "does not take"),
    ],
)
def test_instances_that_do_not_fit_the_model_are_4xx(core, request_, reader, status, message):
    request = core.inference.codecs.Request(*request_)
    arguments = (request, ["x", "y"]) if reader == "rows" else (request,)
    with pytest.raises(core.inference.codecs.PayloadError) as refused:
        getattr(core.inference.instances, reader)(*arguments)
    assert refused.value.status_code == status and message in str(refused.value)


def test_one_json_list_is_one_row_to_a_table_and_several_texts_to_a_text_model(core):
    request = core.inference.codecs.Request("application/json", {"instances": ["a b", "c d"]})
    assert core.inference.instances.texts(request) == ["a b", "c d"]
    assert core.inference.instances.rows(request, ["left", "right"]) == [["a b", "c d"]]


# What plain random bodies rarely reach: the limits of the parsers underneath the codecs.
NESTED = st.integers(1, 3000).map(lambda depth: "[" * depth + "]" * depth)
DIGITS = st.integers(1, 6000).map(lambda n: "[[" + "9" * n + ", 1]]")
LONG_FIELD = st.integers(100_000, 140_000).map(lambda n: "x" * n + ",1\n")
NON_FINITE = st.sampled_from(["[[1e999, 1]]", "[[-1e999, 1]]", "[[Infinity, 1]]", "1,nan", "1,inf"])
LIMITS = st.one_of(NESTED, DIGITS, LONG_FIELD, NON_FINITE).map(str.encode)


@settings(max_examples=150, deadline=None)
@given(
    body=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode), LIMITS),
    content_type=st.sampled_from(
        [
            "application/json",
            "application/jsonlines",
            "text/csv",
            "text/plain",
            "application/x-npy",
            "image/png",
            "image/jpeg",
        ]
    ),
)
def test_any_body_decodes_or_is_a_4xx_never_another_error(core, body, content_type):
    try:
        request = core.inference.bodies.decode(body, content_type)
    except core.inference.codecs.PayloadError as error:
        assert 400 <= error.status_code < 500
        return
    for reader, arguments in (("rows", (request, ["x", "y"])), ("texts", (request,)), ("images", (request,))):
        try:
            getattr(core.inference.instances, reader)(*arguments)
        except core.inference.codecs.PayloadError as error:
            assert 400 <= error.status_code < 500


ANSWERS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(answer=ANSWERS, accept=st.sampled_from(["application/json", "application/jsonlines", "text/csv"]))
def test_any_answer_encodes_to_a_valid_body_or_is_the_model_s_500(core, answer, accept):
    try:
        body, kind = core.inference.bodies.encode(answer, accept)
    except core.inference.codecs.PayloadError as error:
        assert error.status_code == 500 and "cannot be sent as" in str(error)
        return
    assert kind == accept
    if kind != "text/csv":
        lines = [body] if kind == "application/json" else body.splitlines()
        for line in lines:
            json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} in a JSON answer"))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_a_non_finite_number_in_an_answer_is_a_500_never_invalid_json(core, value):
    with pytest.raises(core.inference.codecs.PayloadError) as refused:
        core.inference.bodies.encode({"predictions": [{"score": value}]}, "application/json")
    assert refused.value.status_code == 500 and "Out of range float values are not JSON compliant" in str(refused.value)


def test_a_request_file_s_media_type_comes_from_its_suffix(core, tmp_path):
    types = {
        name: core.inference.codecs.media_type_of(tmp_path / name) for name in ("a.csv", "b.JPG", "c.jsonl", "d.bin")
    }
    assert types == {
        "a.csv": "text/csv",
        "b.JPG": "image/jpeg",
        "c.jsonl": "application/jsonlines",
        "d.bin": "application/json",
    }
