"""The local endpoint: the SageMaker container's HTTP contract, served from an unpacked bundle."""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

# An entry point wrapping the model's own handlers, with a handler that fails on request.
FLAKY_ENTRY_POINT = """
import json

from {package}.models.{model}.inference import input_fn, model_fn
from {package}.models.{model}.inference import output_fn as _output_fn
from {package}.models.{model}.inference import predict_fn as _predict_fn


def predict_fn(rows, model):
    if rows == [["6", "6", "6", "6"]]:
        raise RuntimeError("the model's code failed")
    return _predict_fn(rows, model)


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
    model = core.registry.names()[0]

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
        (json.dumps({"instances": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}), "application/json"),
        (json.dumps([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]), "application/json; charset=utf-8"),
        ("5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n", "text/csv"),
        ("sepal_width,sepal_length,petal_length,petal_width\n3.5,5.1,1.4,0.2\n3.0,6.7,5.2,2.3\n", "text/csv"),
    ],
    ids=["json-instances", "json-list", "csv", "csv-with-header"],
)
def test_json_and_csv_requests_get_predictions(core, endpoint, body, content_type):
    answer = core.client.invoke(endpoint, body, content_type)
    assert answer.status == 200, answer.body
    assert answer.content_type.startswith("application/json")
    assert [p["label"] for p in answer.json()["predictions"]] == ["setosa", "virginica"]


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status", "message"),
    [
        ("{not json", "application/json", "application/json", 400, "not valid JSON"),
        ("[[1, 2]]", "application/json", "application/json", 400, "expected 4 values"),
        ('[["a", 1, 2, 3]]', "application/json", "application/json", 400, "must be numbers"),
        ("[]", "application/json", "application/json", 400, "no rows"),
        ("1,2,3,4", "application/x-npy", "application/json", 415, "unsupported content type"),
        ("1,2,3,4", "text/csv", "text/html", 406, "cannot answer"),
        ("6,6,6,6", "text/csv", "application/json", 500, "the model's code failed"),
    ],
)
def test_bad_requests_get_clear_json_errors(core, endpoint, body, content_type, accept, status, message):
    answer = core.client.invoke(endpoint, body, content_type, accept)
    assert answer.status == status
    assert message in answer.json()["error"]
    assert core.client.invoke(endpoint, "5.1,3.5,1.4,0.2", "text/csv").status == 200  # still serving


def test_oversized_payload_is_refused(core, endpoint):
    answer = core.client.invoke(endpoint, "5.1,3.5,1.4,0.2\n" * 400_000, "text/csv")
    assert answer.status == 413


def test_ping_is_unavailable_until_the_model_is_loaded(core, start_server):
    url, model_dir = start_server(SLOW_ENTRY_POINT)
    deadline = time.monotonic() + 60
    while core.client.ping(url) is None and time.monotonic() < deadline:  # until the server listens
        time.sleep(0.05)
    assert core.client.ping(url) == 503
    assert core.client.invoke(url, "5.1,3.5,1.4,0.2", "text/csv").status == 503
    (model_dir / "go").touch()
    core.client.wait_until_ready(url)
    assert core.client.invoke(url, "5.1,3.5,1.4,0.2", "text/csv").status == 200


def test_custom_attributes_reach_the_handlers(core, endpoint):
    headers = {"X-Amzn-SageMaker-Custom-Attributes": "trace=abc,tenant=7"}
    answer = core.client.invoke(endpoint, "5.1,3.5,1.4,0.2", "text/csv", headers=headers)
    assert answer.status == 200 and answer.json()["attributes"] == "trace=abc,tenant=7"
    too_long = {"X-Amzn-SageMaker-Custom-Attributes": "x" * 1025}
    assert core.client.invoke(endpoint, "5.1,3.5,1.4,0.2", "text/csv", headers=too_long).status == 400


def test_any_accept_gets_json(core, endpoint):
    answer = core.client.invoke(endpoint, "5.1,3.5,1.4,0.2", "text/csv", accept="*/*")
    assert answer.status == 200 and answer.content_type.startswith("application/json")


def test_endpoint_answers_2000_requests_from_16_clients(core, endpoint):
    rows = {"setosa": [5.1, 3.5, 1.4, 0.2], "virginica": [6.7, 3.0, 5.2, 2.3], "versicolor": [6.4, 3.2, 4.5, 1.5]}
    cases = [list(rows.items())[i % 3] for i in range(2000)]

    def ask(case):
        label, row = case
        answer = core.client.invoke(endpoint, json.dumps([row]))
        return answer.status == 200 and answer.json()["predictions"][0]["label"] == label

    with ThreadPoolExecutor(max_workers=16) as clients:
        results = list(clients.map(ask, cases, timeout=300))
    assert results.count(True) == 2000
