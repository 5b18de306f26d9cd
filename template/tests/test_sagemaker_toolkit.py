"""Conformance: SageMaker's PyTorch inference toolkit loads our bundles and answers correctly."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DRIVER = Path(__file__).with_name("sagemaker_toolkit_driver.py")
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]


@pytest.fixture(scope="module")
def ask_toolkit(core, unpacked_bundle):
    """`ask_toolkit(requests)`: the toolkit's answers for the first model's bundle."""
    model_dir = unpacked_bundle(core.registry.names()[0])

    def ask(requests: list[dict]) -> list[dict]:
        env = {**os.environ, "PYTHONPATH": str(model_dir / "code"), "SAGEMAKER_PROGRAM": "inference.py"}
        result = subprocess.run(
            [sys.executable, DRIVER, str(model_dir)],
            input=json.dumps(requests),
            capture_output=True,
            text=True,
            env=env,
            cwd=model_dir.parent,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    return ask


def request(body, content_type="application/json", accept="application/json"):
    return {"body": body, "headers": {"Content-Type": content_type, "Accept": accept}}


def test_toolkit_answers_json_and_csv_with_correct_predictions(ask_toolkit):
    answers = ask_toolkit(
        [
            request(json.dumps({"instances": ROWS})),
            request("5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3", "text/csv"),
            request(json.dumps(ROWS), "application/json", "*/*"),
        ]
    )
    for answer in answers:
        assert answer["status"] == 200, answer["body"]
        assert answer["content_type"] == "application/json"
        assert [p["label"] for p in json.loads(answer["body"])["predictions"]] == ["setosa", "virginica"]


def test_toolkit_reports_bad_requests_with_our_status_codes(ask_toolkit):
    answers = ask_toolkit(
        [
            request("{broken"),
            request("[[1, 2]]"),
            request("1,2,3,4", "application/x-npy"),
            request("1,2,3,4", "text/csv", "text/html"),
        ]
    )
    assert [a["status"] for a in answers] == [400, 400, 415, 406]
    assert "not valid JSON" in answers[0]["body"] and "expected 4 values" in answers[1]["body"]
