"""Bad requests against one running endpoint: each gets a 4xx (or, for the model's own fault, a 500)
with a one-line JSON error, nothing in the bundle changes, the log gains no traceback (and on our
server at most one line), and the endpoint goes on answering.

The same table runs on both engines: our server, and TorchServe with SageMaker's handler service
(what the endpoint runs; slow). Both answer each row with the same status and the same body.
"""

import io
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import numpy
import pytest

PROBE = "probe"
GOOD = ("0.5,0.1", "text/csv")

# The probe's entry point, as `bundle` writes it, around handlers with an input_fn that fails
# without an HTTP status on one body and a predict_fn whose answer holds NaN or infinity for two
# others (the model's fault, not the client's).
ENTRY_POINT = """
from types import SimpleNamespace

from {package}.core.inference import handling
from {package}.models.{model} import inference


def _input_fn(body, content_type):
    if body == b"unreadable":  # bodies arrive as bytes: the codecs decode them
        raise ValueError("input_fn cannot read this")
    return inference.input_fn(body, content_type)


def _predict_fn(request, model, context):
    if request.media_type == "text/csv" and request.value in ([["7", "7"]], [["8", "8"]]):
        score = float("nan") if request.value == [["7", "7"]] else float("inf")
        return {{"predictions": [{{"label": "above", "score": score}}]}}
    prediction = inference.predict_fn(request, model)
    attributes = handling.custom_attributes(context)
    return dict(prediction, attributes=attributes) if attributes else prediction


model_fn = inference.model_fn
transform_fn = handling.transform_fn(
    SimpleNamespace(input_fn=_input_fn, predict_fn=_predict_fn, output_fn=inference.output_fn)
)
handling.receive_raw_bodies()
"""
ENGINES = ["builtin", pytest.param("torchserve", marks=pytest.mark.slow)]


def npy_claiming(shape: tuple) -> bytes:
    """A .npy header claiming an array of `shape`, with no data after it."""
    buffer = io.BytesIO()
    numpy.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def headers(content_type: str, accept: str = "application/json", **more: str) -> dict[str, str]:
    return {"Content-Type": content_type, "Accept": accept, **more}


DEEP = "[" * 100_000 + "]" * 100_000
CASES = [
    pytest.param(DEEP, headers("application/json"), 400, "nested too deeply", id="json-deep-nesting"),
    pytest.param(DEEP, headers("application/jsonlines"), 400, "nested too deeply", id="jsonlines-deep-nesting"),
    pytest.param(f"[[{'1' * 5000}, 1]]", headers("application/json"), 400, "5000 digits", id="json-huge-integer"),
    pytest.param(f"[[{'9' * 400}, 1]]", headers("application/json"), 400, "must be numbers", id="integer-past-float"),
    pytest.param("[[1e999, 1]]", headers("application/json"), 400, "finite", id="json-float-overflow"),
    pytest.param("[[NaN, 1]]", headers("application/json"), 400, "not a number JSON allows", id="json-nan"),
    pytest.param("", headers("application/json"), 400, "not valid JSON", id="json-empty"),
    pytest.param(b"\xff\xfe[1]", headers("application/json"), 400, "not UTF-8", id="json-not-utf8"),
    pytest.param(b"\xff\xfe1,2", headers("text/csv"), 400, "not UTF-8", id="csv-not-utf8"),
    pytest.param("x" * 200_000 + ",1", headers("text/csv"), 400, "field larger than field limit", id="csv-huge-field"),
    pytest.param('1,"2\n', headers("text/csv"), 400, "not valid CSV", id="csv-open-quote"),
    pytest.param(b"\xff\x00\xfe", headers("text/plain"), 415, "'text/plain'", id="binary-as-text-not-taken"),
    pytest.param(b"\x89PNG\r\n\x1a\n\xff", headers("image/png"), 415, "'image/png'", id="binary-as-png-not-taken"),
    pytest.param(b"\x00\x01", headers("application/octet-stream"), 415, "unsupported", id="octet-stream"),
    pytest.param(npy_claiming((10**7, 10**7)), headers("application/x-npy"), 413, "too large", id="npy-huge-shape"),
    pytest.param(b"\x93NUMPY\x01\x00", headers("application/x-npy"), 400, "not a .npy array", id="npy-cut-short"),
    pytest.param("0.5,0.1" * 600_000, headers("text/csv"), 413, "payload larger than", id="over-the-body-limit"),
    pytest.param("unreadable", headers("text/csv"), 400, "could not be decoded", id="input-fn-plain-error"),
    pytest.param(*GOOD[:1], headers("text/csv", "text/csv;q=0.5, nonsense"), 400, "malformed Accept", id="bad-accept"),
    pytest.param(*GOOD[:1], headers("text/csv", "text/html, image/*"), 406, "cannot answer", id="accept-list-none-ok"),
    pytest.param(*GOOD[:1], headers("text/csv", "application/json;q=0"), 406, "cannot answer", id="accept-q0"),
    pytest.param(
        *GOOD[:1],
        headers("text/csv", **{"X-Amzn-SageMaker-Custom-Attributes": "x" * 1025}),
        400,
        "longer than 1024",
        id="custom-attributes-too-long",
    ),
    pytest.param(f'[["{"x" * 100_000}", 1]]', headers("application/json"), 400, "must be numbers", id="long-echo"),
    pytest.param("7,7", headers("text/csv"), 500, "cannot be sent as application/json", id="nan-in-the-answer"),
    pytest.param(
        "8,8", headers("text/csv", "application/jsonlines"), 500, "cannot be sent as application/jsonl", id="inf-answer"
    ),
]


@dataclass
class Endpoint:
    engine: str
    url: str
    model_dir: Path
    log: Path


@pytest.fixture(scope="module", params=ENGINES)
def endpoint(request, core, package, unpacked_bundle, tmp_path_factory):
    """The probe's bundle with the entry point above, served by an engine with its output in `log`."""
    model_dir = unpacked_bundle(PROBE)
    (model_dir / "code" / "inference.py").write_text(ENTRY_POINT.format(package=package, model=PROBE))
    scratch = tmp_path_factory.mktemp(request.param)
    log, port = scratch / "server.log", core.inference.client.free_port()
    with log.open("wb") as sink:
        if request.param == "torchserve":
            process = core.hosting.torchserve.spawn(model_dir, scratch, "127.0.0.1", port, output=sink)
        else:
            process = core.inference.serving.spawn(model_dir, "127.0.0.1", port, output=sink)
    url = f"http://127.0.0.1:{port}"
    try:
        core.inference.client.wait_until_answering(url, process)
        yield Endpoint(request.param, url, model_dir, log)
    finally:
        core.hosting.local_endpoint.stop(process)


def files(folder) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if "__pycache__" not in p.parts}


@pytest.mark.parametrize(("body", "request_headers", "status", "message"), CASES)
def test_a_bad_request_is_a_one_line_json_error_and_changes_nothing(
    core, endpoint, body, request_headers, status, message
):
    before, lines = files(endpoint.model_dir), log_lines(endpoint)
    answer = core.inference.client.invoke(endpoint.url, body, headers=request_headers)
    assert answer.status == status, answer.body[:300]
    assert answer.content_type.startswith("application/json")
    error = answer.json()["error"]
    assert message in error and "\n" not in error and len(error) <= core.inference.handling.MAX_ERROR_CHARS
    new_lines = log_lines(endpoint)[len(lines) :]
    assert not any("Traceback" in line for line in new_lines), new_lines
    assert len(new_lines) <= 1 or endpoint.engine == "torchserve", new_lines  # TorchServe logs every request
    assert files(endpoint.model_dir) == before
    assert core.inference.client.ping(endpoint.url) == 200
    assert core.inference.client.invoke(endpoint.url, *GOOD).status == 200


def test_custom_attributes_reach_the_handlers(core, endpoint):
    attributes = {"X-Amzn-SageMaker-Custom-Attributes": "trace_id=7,tenant=a b"}
    answer = core.inference.client.invoke(endpoint.url, GOOD[0], GOOD[1], headers=attributes)
    assert answer.status == 200 and answer.json()["attributes"] == "trace_id=7,tenant=a b", answer.body


def log_lines(endpoint: Endpoint) -> list[str]:
    return endpoint.log.read_text(errors="replace").splitlines()


def test_a_client_that_goes_away_mid_body_costs_at_most_one_log_line(core, endpoint):
    url = endpoint.url
    lines = len(log_lines(endpoint))
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n")
        connection.sendall(b"Content-Length: 100000\r\n\r\n0.5,")
    if endpoint.engine == "builtin":
        deadline = time.monotonic() + 30
        while len(log_lines(endpoint)) == lines and time.monotonic() < deadline:
            time.sleep(0.05)  # the server notices the closed connection on its own time
    assert core.inference.client.invoke(url, *GOOD).status == 200
    new_lines = log_lines(endpoint)[lines:]
    if endpoint.engine == "builtin":
        assert len(new_lines) == 1 and "went away" in new_lines[0], new_lines
    else:  # TorchServe's frontend drops the request before the handlers see it
        assert not any("Traceback" in line for line in new_lines), new_lines
