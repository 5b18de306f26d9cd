"""SageMaker inference handlers: the serving container calls these four by name.

Requests are decoded, and answers encoded, in the media types this model's contract declares
(`contract.py`; core/inference/codecs.py holds the codecs). The network reads the instances it needs
from the decoded request, so the same handlers serve every kind of model.
"""

from __future__ import annotations

from ...core.inference import codecs
from . import model
from .contract import CONTRACT


def model_fn(model_dir: str):
    """Load the trained network (and the artifacts beside it) from the unpacked bundle."""
    return model.load(model_dir)


def input_fn(request_body: str | bytes, content_type: str) -> codecs.Request:
    """The request body, decoded by its content type (415 for a type the model does not take)."""
    return CONTRACT.decode(request_body, content_type)


def predict_fn(request: codecs.Request, network) -> dict:
    """One prediction per instance of the request."""
    return {"predictions": network.predict(request)}


def output_fn(prediction: dict, accept: str) -> tuple[str | bytes, str]:
    """The predictions in the media type the client accepts (406 if none)."""
    return CONTRACT.encode(prediction, accept)
