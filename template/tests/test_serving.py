"""The local endpoint: the SageMaker container's HTTP contract, served from an unpacked bundle."""

import importlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy
import pytest

PROBE = "probe"
ABOVE, BELOW = [0.0, 0.9], [0.0, -0.9]  # which side of the probe's line y = x / 2 a point is on


def npy(rows) -> bytes:
    buffer = io.BytesIO()
    numpy.save(buffer, numpy.array(rows))
    return buffer.getvalue()


# An entry point wrapping the model's own handlers, with a handler that fails on request, and one
# that, asked 9,9, says it started and waits until the test lets it finish.
FLAKY_ENTRY_POINT = """
import time
from pathlib import Path

from {package}.models.{model}.inference import input_fn, model_fn
from {package}.models.{model}.inference import output_fn as _output_fn
from {package}.models.{model}.inference import predict_fn as _predict_fn


def predict_fn(request, model, context):
    if request.media_type == "text/csv" and request.value == [["6", "6"]]:
        raise RuntimeError("the model's code failed")
    if request.media_type == "text/csv" and request.value == [["9", "9"]]:
        model_dir = Path(context.system_properties["model_dir"])
        (model_dir / "started").touch()
        deadline = time.monotonic() + 60
        while not (model_dir / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
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
def served(core, start_server):
    """(url, model_dir) of the bundle with the flaky entry point, ready."""
    url, model_dir = start_server(FLAKY_ENTRY_POINT)
    core.inference.client.wait_until_ready(url)
    return url, model_dir


@pytest.fixture(scope="module")
def endpoint(served):
    return served[0]


def test_ping_is_healthy_once_loaded(core, endpoint):
    assert core.inference.client.ping(endpoint) == 200


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
    answer = core.inference.client.invoke(endpoint, body, content_type)
    assert answer.status == 200, answer.body
    assert answer.content_type.startswith("application/json")
    assert [p["label"] for p in answer.json()["predictions"]] == ["above", "below"]


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("application/jsonlines", "application/jsonlines"),
        ("text/csv;q=0.9, application/json;q=0.5", "text/csv"),
        ("text/html, application/*;q=0.1", "application/json"),
        ("text/csv;q=0.5, application/json", "application/json"),
        ("text/html, text/csv;q=0.5", "text/csv"),
    ],
)
def test_answers_come_in_the_accepted_media_type(core, endpoint, accept, media_type):
    answer = core.inference.client.invoke(endpoint, json.dumps([ABOVE, BELOW]), "application/json", accept)
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
    answer = core.inference.client.invoke(endpoint, body, content_type, accept)
    assert answer.status == status
    assert message in answer.json()["error"]
    assert core.inference.client.invoke(endpoint, "0.5,0.1", "text/csv").status == 200  # still serving


def test_oversized_payload_is_refused(core, endpoint):
    answer = core.inference.client.invoke(endpoint, "0.5,0.1\n" * 900_000, "text/csv")
    assert answer.status == 413


def test_ping_answers_while_a_long_request_runs(core, served):
    url, model_dir = served
    with ThreadPoolExecutor(max_workers=1) as pool:
        slow = pool.submit(core.inference.client.invoke, url, "9,9", "text/csv")
        deadline = time.monotonic() + 60
        while not (model_dir / "started").exists() and time.monotonic() < deadline:
            time.sleep(0.02)  # until the handler runs
        assert (model_dir / "started").exists()
        assert core.inference.client.ping(url) == 200
        assert not slow.done()  # the ping was answered while the request was still in the handler
        (model_dir / "go").touch()
        assert slow.result(timeout=60).status == 200


def test_ping_is_unavailable_until_the_model_is_loaded(core, start_server):
    url, model_dir = start_server(SLOW_ENTRY_POINT)
    deadline = time.monotonic() + 60
    while core.inference.client.ping(url) is None and time.monotonic() < deadline:  # until the server listens
        time.sleep(0.05)
    assert core.inference.client.ping(url) == 503
    assert core.inference.client.invoke(url, "0.5,0.1", "text/csv").status == 503
    (model_dir / "go").touch()
    core.inference.client.wait_until_ready(url)
    assert core.inference.client.invoke(url, "0.5,0.1", "text/csv").status == 200


def test_custom_attributes_reach_the_handlers(core, endpoint):
    headers = {"X-Amzn-SageMaker-Custom-Attributes": "trace=abc,tenant=7"}
    answer = core.inference.client.invoke(endpoint, "0.5,0.1", "text/csv", headers=headers)
    assert answer.status == 200 and answer.json()["attributes"] == "trace=abc,tenant=7"
    too_long = {"X-Amzn-SageMaker-Custom-Attributes": "x" * 1025}
    assert core.inference.client.invoke(endpoint, "0.5,0.1", "text/csv", headers=too_long).status == 400


def test_any_accept_gets_json(core, endpoint):
    answer = core.inference.client.invoke(endpoint, "0.5,0.1", "text/csv", accept="*/*")
    assert answer.status == 200 and answer.content_type.startswith("application/json")


def test_endpoint_answers_2000_requests_from_16_clients(core, endpoint):
    rows = {"above": ABOVE, "below": BELOW}
    cases = [list(rows.items())[i % 2] for i in range(2000)]

    def ask(case):
        label, row = case
        answer = core.inference.client.invoke(endpoint, json.dumps([row]))
        return answer.status == 200 and answer.json()["predictions"][0]["label"] == label

    with ThreadPoolExecutor(max_workers=16) as clients:
        results = list(clients.map(ask, cases, timeout=300))
    assert results.count(True) == 2000


@pytest.fixture(scope="module")
def serve_command(core, package, trained_run, tmp_path_factory):
    """`serve_command(port)`: the command line of `<package> serve --bundle` of a probe bundle, and its env."""
    bundle = core.bundling.bundle.build(PROBE, trained_run(PROBE), tmp_path_factory.mktemp("signals") / "model.tar.gz")
    source = Path(importlib.import_module(package).__file__).parents[1]
    command = [sys.executable, "-m", package, "serve", "--bundle", str(bundle), "--port"]
    return lambda port, scratch: ([*command, str(port)], {**os.environ, "PYTHONPATH": str(source), "TMPDIR": scratch})


def servers_in(folder: Path) -> list[str]:
    """Processes whose command line names `folder` (a server serving a bundle unpacked there)."""
    return subprocess.run(["pgrep", "-f", str(folder)], capture_output=True, text=True).stdout.split()


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["kill", "ctrl-c"])
def test_a_signal_stops_serve_with_its_server_port_and_folder(core, serve_command, tmp_path, signum):
    port = core.inference.client.free_port()
    command, env = serve_command(port, str(tmp_path))
    serve = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    core.inference.client.wait_until_ready(f"http://127.0.0.1:{port}", serve)
    assert servers_in(tmp_path)  # the server, serving from the temporary folder
    if signum == signal.SIGINT:
        os.killpg(serve.pid, signum)  # Ctrl-C: a terminal signals its foreground process group
    else:
        serve.send_signal(signum)  # kill <pid>
    out, err = serve.communicate(timeout=60)
    assert serve.returncode == 0 and "stopped" in out, (out, err)
    assert "Traceback" not in err, err
    assert servers_in(tmp_path) == []
    assert list(tmp_path.iterdir()) == []
    core.hosting.local_endpoint.check_port("127.0.0.1", port)  # free again


@pytest.mark.slow
def test_a_server_whose_serve_is_killed_outright_stops_by_itself(core, serve_command, tmp_path):
    port = core.inference.client.free_port()
    command, env = serve_command(port, str(tmp_path))
    serve = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    core.inference.client.wait_until_ready(f"http://127.0.0.1:{port}", serve)
    serve.kill()  # no cleanup can run: the server notices its parent is gone
    serve.wait()
    deadline = time.monotonic() + 30
    while servers_in(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert servers_in(tmp_path) == []
    core.hosting.local_endpoint.check_port("127.0.0.1", port)
