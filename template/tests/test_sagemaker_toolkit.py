"""Conformance: SageMaker's PyTorch inference toolkit loads a bundle and answers as our server does.

Each model's own tests check its bundle with the toolkit too (tests/models/<name>/).
"""

import json

import pytest

PROBE = "probe"


@pytest.fixture(scope="module")
def ask(unpacked_bundle, ask_toolkit):
    model_dir = unpacked_bundle(PROBE)
    return lambda requests: ask_toolkit(model_dir, requests)


def request(body, content_type="application/json", accept="application/json"):
    return {"body": body, "headers": {"Content-Type": content_type, "Accept": accept}}


def test_toolkit_answers_every_request_type_with_correct_predictions(ask):
    answers = ask(
        [
            request(json.dumps({"instances": [[0.0, 0.9], [0.0, -0.9]]})),
            request("0.0,0.9\n0.0,-0.9", "text/csv"),
            request("y,x\n0.9,0.0\n-0.9,0.0", "text/csv"),
            request('[0.0, 0.9]\n{"x": 0.0, "y": -0.9}', "application/jsonlines"),
            request(json.dumps([[0.0, 0.9], [0.0, -0.9]]), "application/json", "*/*"),
        ]
    )
    for answer in answers:
        assert answer["status"] == 200, answer["body"]
        assert answer["content_type"] == "application/json"
        assert [p["label"] for p in json.loads(answer["body"])["predictions"]] == ["above", "below"]


def test_toolkit_answers_in_the_accepted_media_type(ask):
    [answer] = ask([request("0.0,0.9", "text/csv", "text/csv;q=0.8, application/json;q=0.2")])
    assert (answer["status"], answer["content_type"]) == (200, "text/csv")
    assert answer["body"].splitlines()[1].startswith("above,")


def test_toolkit_reports_bad_requests_with_our_status_codes(ask):
    answers = ask(
        [
            request("{broken"),
            request("[[1, 2, 3]]"),
            request("1,2", "image/png"),
            request("1,2", "text/csv", "text/html"),
        ]
    )
    assert [a["status"] for a in answers] == [400, 400, 415, 406]
    assert "not valid JSON" in answers[0]["body"] and "expected 2 values" in answers[1]["body"]
