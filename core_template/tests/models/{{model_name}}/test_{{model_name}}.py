"""This model's tests, driven by its contract (`contract.py` in the model folder).

It learns its sample data to the goal its contract states; its handlers, its bundle served over
HTTP and SageMaker's own serving toolkit all answer the contract's example requests alike.
Fixtures (`core`, `package`, `trained_run`, `examples`, `unpacked_bundle`, `served_model`,
`ask_toolkit`) come from tests/conftest.py.
"""

import importlib
import json
from pathlib import Path

import pytest

MODEL = Path(__file__).parent.name


@pytest.fixture(scope="module")
def declared(core):
    return core.contract.of(MODEL)


def assert_answers(core, declared, examples, answers):
    """Every example got one prediction; where the task knows how, most match the expected answer."""
    predictions = [json.loads(answer)["predictions"] for answer in answers]
    assert all(len(p) == 1 for p in predictions), predictions
    agrees = core.tasks.get(declared.task).agrees
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
    answers = [core.client.invoke(served_model(MODEL), e.body, e.content_type) for e in examples(MODEL)]
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
        core.client.invoke(served_model(MODEL), e.body, e.content_type).json()["predictions"][0]
        for e in examples(MODEL)
    ]
    assert [declared.show(p) for p in toolkit] == [declared.show(p) for p in local]


def test_sagemaker_toolkit_answers_bad_requests_with_4xx(unpacked_bundle, ask_toolkit, examples):
    example = examples(MODEL)[0]
    # The toolkit decodes JSON and CSV bodies as UTF-8 before any handler runs (a 500 when that
    # fails), so those get a body that is text but not valid; other types get bytes no decoder takes.
    utf8_first = example.content_type in ("application/json", "text/csv")
    requests = [
        {
            "body": '\x00 "{not' if utf8_first else b"\xff\x00 not a valid body",
            "headers": {"Content-Type": example.content_type},
        },
        {"body": "x", "headers": {"Content-Type": "application/x-unknown"}},
        {"body": example.body, "headers": {"Content-Type": example.content_type, "Accept": "text/html"}},
    ]
    answers = ask_toolkit(unpacked_bundle(MODEL), requests)
    assert [a["status"] for a in answers] == [400, 415, 406], answers
