"""SageMaker inference handlers: the serving container calls these four by name."""

from __future__ import annotations

from ...core import payloads
from . import model


def model_fn(model_dir: str) -> model.TabularClassifier:
    """Load the trained network from the unpacked bundle."""
    return model.load(model_dir)


def input_fn(request_body: str | bytes, content_type: str) -> list:
    """Rows of feature values from a JSON or CSV request."""
    return payloads.decode(request_body, content_type)


def predict_fn(rows: list, network: model.TabularClassifier) -> dict:
    """A label and class probabilities for every row."""
    return {"predictions": network.predict(rows)}


def output_fn(prediction: dict, accept: str) -> tuple[str, str]:
    """The prediction as a JSON response."""
    return payloads.encode(prediction, accept)
