"""Answer requests with SageMaker's own PyTorch inference toolkit, as its container does.

    python sagemaker_toolkit_driver.py MODEL_DIR < requests.json > answers.json

Run in a fresh process whose import path holds only the bundle's `code/` folder (the
container's PYTHONPATH), so the toolkit loads the bundle's copy of the code. Requests are
`{"body": str, "binary": bool, "headers": {...}}` (a binary body as latin-1 text); answers are
`{"status", "content_type", "body"}`. The
toolkit's HandlerService is driven directly with a small context object, without TorchServe:
one object for every request, as a TorchServe worker has (the handler service hands the one it
was initialised with to handlers that take a `context`).
"""

import json
import sys

from sagemaker_pytorch_serving_container.handler_service import HandlerService


class RequestProcessor:
    def __init__(self, headers: dict):
        self.headers = headers

    def get_request_properties(self) -> dict:
        return self.headers


class Context:
    """The parts of TorchServe's context object the toolkit uses."""

    def __init__(self, model_dir: str, headers: dict):
        self.system_properties = {"model_dir": model_dir}
        self.request_processor = [RequestProcessor(headers)]
        self.model_name = "model"
        self.status, self.content_type = 200, None

    def next_request(self, headers: dict) -> None:
        """Take the next request's headers, as a TorchServe worker's one context does."""
        self.request_processor = [RequestProcessor(headers)]
        self.status, self.content_type = 200, None

    def set_response_status(self, code: int = 200, phrase: str = "") -> None:
        self.status = code

    def set_response_content_type(self, index: int, content_type: str) -> None:
        self.content_type = content_type


def main() -> None:
    model_dir = sys.argv[1]
    service = HandlerService()
    context = Context(model_dir, {})  # one per worker, as TorchServe has: handlers get the first one
    service.initialize(context)
    answers = []
    for request in json.load(sys.stdin):
        context.next_request(request["headers"])
        raw = request["body"].encode("latin-1" if request.get("binary") else "utf-8")
        [body] = service.handle([{"body": raw}], context)
        body = body.decode() if isinstance(body, bytes) else str(body)
        answers.append({"status": context.status, "content_type": context.content_type, "body": body})
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
