"""This model's tests: it learns the sample data, its handlers answer, its bundle serves.

Fixtures (`trained_run`, `served_model`, `samples`, `core`, `package`) come from tests/conftest.py.
"""

import csv
import importlib
import io
import json
from pathlib import Path

MODEL = Path(__file__).parent.name


def test_training_learns_the_sample_data(trained_run):
    metrics = json.loads((trained_run(MODEL) / "metrics.json").read_text())
    assert metrics["val_accuracy"] >= 0.8


def test_handlers_answer_json_and_csv(trained_run, samples, package):
    inference = importlib.import_module(f"{package}.models.{MODEL}.inference")
    run_dir = trained_run(MODEL)
    rows, labels = samples(run_dir)
    network = inference.model_fn(str(run_dir))
    table = io.StringIO()
    csv.writer(table).writerows([list(row.values()) for row in rows])
    for body, content_type in [(json.dumps({"instances": rows}), "application/json"), (table.getvalue(), "text/csv")]:
        parsed = inference.input_fn(body, content_type)
        answer, answer_type = inference.output_fn(inference.predict_fn(parsed, network), "application/json")
        predicted = [p["label"] for p in json.loads(answer)["predictions"]]
        assert answer_type == "application/json"
        assert sum(p == t for p, t in zip(predicted, labels, strict=True)) >= 0.8 * len(labels)


def test_bundle_serves_correct_predictions_over_http(trained_run, served_model, samples, core):
    rows, labels = samples(trained_run(MODEL))
    answer = core.client.invoke(served_model(MODEL), json.dumps({"instances": rows}))
    assert answer.status == 200, answer.body
    predicted = [p["label"] for p in answer.json()["predictions"]]
    assert len(predicted) == len(rows)
    assert sum(p == t for p, t in zip(predicted, labels, strict=True)) >= 0.8 * len(labels)
