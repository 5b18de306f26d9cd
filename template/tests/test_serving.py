"""The local endpoint: the SageMaker container's HTTP contract, served from an unpacked bundle."""

import io
import json
import time
from concurrent.futures import ThreadPoolExecutor

import numpy
import pytest

PROBE = "probe"
ABOVE, BELOW = [0.0, 0.9], [0.0, -0.9]  # which side of the probe's line y = x / 2 a point is on


def npy(rows) -> bytes:
    buffer = io.BytesIO()
    numpy.save(buffer, numpy.array(rows))
    return buffer.getvalue()


# An entry point wrapping the model's own handlers, with a handler that fails on request.
FLAKY_ENTRY_POINT = """
import json

from {package}.models.{model}.inference import input_fn, model_fn
from {package}.models.{model}.inference import output_fn as _output_fn
from {package}.models.{model}.inference import predict_fn as _predict_fn


def predict_fn(request, model):
    if request.media_type == "text/csv" and request.value == [["6", "6"]]:
        raise RuntimeError("the model's code failed")
    return _predict_fn(request, model)


def output_fn(prediction, accept, context):
    if context.custom_attributes:
        prediction = dict(prediction, attributes=context.custom_attributes)
    return _output_fn(prediction, accept)
"""


# An entry point whose model_fn waits until the test lets it finish loading.
SLOW_ENTRY_POINT = """
import time
from pathlib import Path

from {package}.models.{model}.inference import input_fn, output_fn, predict_fn
from {package}.models.{model}.inference import model_fn as _model_fn


def model_fn(model_dir):
    while not (Path(model_dir) / "go").exists():
        time.sleep(0.05)
    return _model_fn(model_dir)
"""


@pytest.fixture(scope="module")
def start_server(core, package, unpacked_bundle, start_endpoint):
    """`start_server(entry_point)`: serve a real bundle with its entry point replaced; returns (url, model_dir)."""
    model = PROBE

    def start(entry_point: str):
        model_dir = unpacked_bundle(model)
        (model_dir / "code" / "inference.py").write_text(entry_point.format(package=package, model=model))
        return start_endpoint(model_dir), model_dir

    return start


@pytest.fixture(scope="module")
def endpoint(core, start_server):
    url, _ = start_server(FLAKY_ENTRY_POINT)
    core.client.wait_until_ready(url)
    return url


def test_ping_is_healthy_once_loaded(core, endpoint):
    assert core.client.ping(endpoint) == 200


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (json.dumps({"instances": [ABOVE, BELOW]}), "application/json"),
        (json.dumps({"inputs": [{"y": 0.9, "x": 0.0}, {"x": 0.0, "y": -0.9}]}), "application/json"),
        (json.dumps([ABOVE, BELOW]), "application/json; charset=utf-8"),
        ("0.0,0.9\n0.0,-0.9\n", "text/csv"),
        ("y,x\n0.9,0.0\n-0.9,0.0\n", "text/csv"),
        ("y,side,x\n0.9,?,0.0\n-0.9,?,0.0\n", "text/csv"),
        ('[0.0, 0.9]\n{"x": 0.0, "y": -0.9}\n', "application/jsonlines"),
        (npy([ABOVE, BELOW]), "application/x-npy"),
    ],
    ids=[
        "json-instances",
        "json-inputs-objects",
        "json-list",
        "csv",
        "csv-with-header",
        "csv-with-header-and-more-columns",
        "jsonlines",
        "npy",
    ],
)
def test_every_request_type_the_model_takes_gets_predictions(core, endpoint, body, content_type):
    answer = core.client.invoke(endpoint, body, content_type)
    assert answer.status == 200, answer.body
    assert answer.content_type.startswith("application/json")
    assert [p["label"] for p in answer.json()["predictions"]] == ["above", "below"]


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("application/jsonlines", "application/jsonlines"),
        ("text/csv;q=0.9, application/json;q=0.5", "text/csv"),
        ("text/html, application/*;q=0.1", "application/json"),
    ],
)
def test_answers_come_in_the_accepted_media_type(core, endpoint, accept, media_type):
    answer = core.client.invoke(endpoint, json.dumps([ABOVE, BELOW]), "application/json", accept)
    assert answer.status == 200, answer.body
    assert answer.content_type.startswith(media_type)
    if media_type == "text/csv":
        assert answer.body.decode().splitlines()[0].startswith("label,probabilities.")
    if media_type == "application/jsonlines":
        assert [json.loads(line)["label"] for line in answer.body.decode().splitlines()] == ["above", "below"]


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status", "message"),
    [
        ("{not json", "application/json", "application/json", 400, "not valid JSON"),
        ("[[1, 2, 3]]", "application/json", "application/json", 400, "expected 2 values"),
        ('[["a", 1]]', "application/json", "application/json", 400, "must be numbers"),
        ("[[true, 1]]", "application/json", "application/json", 400, "must be numbers"),
        ("[[NaN, 1]]", "application/json", "application/json", 400, "not a number JSON allows"),
        ("[]", "application/json", "application/json", 400, "no instances"),
        ("x,y\n", "text/csv", "application/json", 400, "no instances"),
        ("0.5,0.1", "text/csv", "text/csv;q=0.5, nonsense", 400, "malformed Accept"),
        ("a,b\n1,2", "text/csv", "application/json", 400, "must be numbers"),
        ('{"x": 1}', "application/json", "application/json", 400, "missing column"),
        ("1,2", "image/png", "application/json", 415, "unsupported content type"),
        ("1,2", "text/csv", "text/html", 406, "cannot answer"),
        ("1,2", "text/csv", "application/json;q=0", 406, "cannot answer"),
        ("6,6", "text/csv", "application/json", 500, "the model's code failed"),
    ],
)
def test_bad_requests_get_clear_json_errors(core, endpoint, body, content_type, accept, status, message):
    answer = core.client.invoke(endpoint, body, content_type, accept)
    assert answer.status == status
    assert message in answer.json()["error"]
    assert core.client.invoke(endpoint, "0.5,0.1", "text/csv").status == 200  # still serving


def test_oversized_payload_is_refused(core, endpoint):
    answer = core.client.invoke(endpoint, "0.5,0.1\n" * 900_000, "text/csv")
    assert answer.status == 413


def test_ping_is_unavailable_until_the_model_is_loaded(core, start_server):
    url, model_dir = start_server(SLOW_ENTRY_POINT)
    deadline = time.monotonic() + 60
    while core.client.ping(url) is None and time.monotonic() < deadline:  # until the server listens
        time.sleep(0.05)
    assert core.client.ping(url) == 503
    assert core.client.invoke(url, "0.5,0.1", "text/csv").status == 503
    (model_dir / "go").touch()
    core.client.wait_until_ready(url)
    assert core.client.invoke(url, "0.5,0.1", "text/csv").status == 200


def test_custom_attributes_reach_the_handlers(core, endpoint):
    headers = {"X-Amzn-SageMaker-Custom-Attributes": "trace=abc,tenant=7"}
    answer = core.client.invoke(endpoint, "0.5,0.1", "text/csv", headers=headers)
    assert answer.status == 200 and answer.json()["attributes"] == "trace=abc,tenant=7"
    too_long = {"X-Amzn-SageMaker-Custom-Attributes": "x" * 1025}
    assert core.client.invoke(endpoint, "0.5,0.1", "text/csv", headers=too_long).status == 400


def test_any_accept_gets_json(core, endpoint):
    answer = core.client.invoke(endpoint, "0.5,0.1", "text/csv", accept="*/*")
    assert answer.status == 200 and answer.content_type.startswith("application/json")


def test_endpoint_answers_2000_requests_from_16_clients(core, endpoint):
    rows = {"above": ABOVE, "below": BELOW}
    cases = [list(rows.items())[i % 2] for i in range(2000)]

    def ask(case):
        label, row = case
        answer = core.client.invoke(endpoint, json.dumps([row]))
        return answer.status == 200 and answer.json()["predictions"][0]["label"] == label

    with ThreadPoolExecutor(max_workers=16) as clients:
        results = list(clients.map(ask, cases, timeout=300))
    assert results.count(True) == 2000
