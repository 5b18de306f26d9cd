"""This model's tests, driven by its contract (`contract.py` in the model folder).

It learns its sample data to the goal its contract states; its handlers, its bundle served over
HTTP, SageMaker's own serving toolkit and TorchServe with it (the production stack, slow) all
answer the contract's example requests alike. Fixtures (`core`, `package`, `trained_run`,
`examples`, `unpacked_bundle`, `served_model`, `served_by_torchserve`, `ask_toolkit`) come from
tests/conftest.py.
"""

import importlib
import json
from pathlib import Path

import pytest

MODEL = Path(__file__).parent.name


@pytest.fixture(scope="module")
def declared(core):
    return core.catalog.contract.of(MODEL)


def assert_answers(core, declared, examples, answers):
    """Every example got one prediction; where the task knows how, most match the expected answer."""
    predictions = [json.loads(answer)["predictions"] for answer in answers]
    assert all(len(p) == 1 for p in predictions), predictions
    agrees = core.basics.tasks.get(declared.task).agrees
    if agrees:
        right = sum(agrees(p[0], e.expected) for p, e in zip(predictions, examples, strict=True))
        assert right >= 0.8 * len(examples), (predictions, [e.expected for e in examples])
    return [p[0] for p in predictions]


def test_training_reaches_the_goal_of_the_contract(trained_run, declared):
    metrics = json.loads((trained_run(MODEL) / "metrics.json").read_text())
    assert declared.goal.reached(metrics[declared.goal.metric]), metrics


def test_handlers_answer_the_examples(core, package, declared, trained_run, examples):
    inference = importlib.import_module(f"{package}.models.{MODEL}.inference")
    network = inference.model_fn(str(trained_run(MODEL)))
    answers = []
    for example in examples(MODEL):
        request = inference.input_fn(example.body, example.content_type)
        body, media_type = inference.output_fn(inference.predict_fn(request, network), "application/json")
        assert media_type == "application/json"
        answers.append(body)
    assert_answers(core, declared, examples(MODEL), answers)


def test_bundle_served_over_http_answers_the_examples(core, declared, served_model, examples):
    answers = [core.inference.client.invoke(served_model(MODEL), e.body, e.content_type) for e in examples(MODEL)]
    assert all(a.status == 200 for a in answers), [a.body for a in answers]
    assert_answers(core, declared, examples(MODEL), [a.body for a in answers])


def test_sagemaker_toolkit_answers_the_examples_like_the_local_server(
    core, declared, unpacked_bundle, served_model, ask_toolkit, examples
):
    requests = [{"body": e.body, "headers": {"Content-Type": e.content_type}} for e in examples(MODEL)]
    answers = ask_toolkit(unpacked_bundle(MODEL), requests)
    assert [a["status"] for a in answers] == [200] * len(requests), answers
    toolkit = assert_answers(core, declared, examples(MODEL), [a["body"] for a in answers])
    local = [
        core.inference.client.invoke(served_model(MODEL), e.body, e.content_type).json()["predictions"][0]
        for e in examples(MODEL)
    ]
    assert [declared.show(p) for p in toolkit] == [declared.show(p) for p in local]


def test_sagemaker_toolkit_answers_bad_requests_with_4xx(unpacked_bundle, ask_toolkit, examples):
    example = examples(MODEL)[0]
    # Bytes no decoder takes, of the model's own type: the bundle has the toolkit hand every body
    # over undecoded (it would decode JSON and CSV itself, and answer bytes not UTF-8 with a 500).
    requests = [
        {"body": b"\xff\x00 not a valid body", "headers": {"Content-Type": example.content_type}},
        {"body": "x", "headers": {"Content-Type": "application/x-unknown"}},
        {"body": example.body, "headers": {"Content-Type": example.content_type, "Accept": "text/html"}},
    ]
    answers = ask_toolkit(unpacked_bundle(MODEL), requests)
    assert [a["status"] for a in answers] == [400, 415, 406], answers


@pytest.mark.slow
def test_production_stack_answers_every_request_as_the_local_server_does(
    core, served_model, served_by_torchserve, examples
):
    """TorchServe with SageMaker's handler service, what the endpoint runs, answers this model's
    examples, and CSV and JSON requests whatever their fate, byte for byte as our server does."""
    example = examples(MODEL)[0]
    requests = [(e.body, e.content_type, "application/json") for e in examples(MODEL)]
    requests += [(example.body, example.content_type, "text/csv"), (example.body, example.content_type, "*/*")]
    requests += [("1.5,2.5\n3.5,4.5", "text/csv", "application/json"), ("1,2", "text/csv", "text/csv")]
    requests += [('{"instances": [[1.5, 2.5]]}', "application/json", "application/json")]
    requests += [("[]", "application/json", "*/*"), ("{broken", "application/json", "application/json")]
    for body, content_type, accept in requests:
        ours = core.inference.client.invoke(served_model(MODEL), body, content_type, accept)
        production = core.inference.client.invoke(served_by_torchserve(MODEL), body, content_type, accept)
        assert (production.status, production.body) == (ours.status, ours.body), (content_type, accept)
        assert production.content_type.split(";")[0] == ours.content_type.split(";")[0]
    answers = [
        core.inference.client.invoke(served_by_torchserve(MODEL), e.body, e.content_type) for e in examples(MODEL)
    ]
    assert [a.status for a in answers] == [200] * len(answers), [a.body[:200] for a in answers]
