"""A model end to end on this machine: train it, bundle the run, serve the bundle and ask it its examples."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..basics.errors import ProjectError
from ..bundling import bundle
from ..catalog import contract
from ..inference import client
from ..trainer import launch
from . import local_endpoint

EXAMPLES = 5  # requests sent: the first examples the contract gives for the run


@dataclass(frozen=True)
class SmokeResult:
    run_dir: Path
    metrics: dict
    bundle: Path
    declared: contract.Contract
    examples: list  # contract.Example
    predictions: list[dict]  # one per example: the first prediction of its answer


def smoke(model: str, overrides: list[str], engine: str) -> SmokeResult:
    """Train MODEL, bundle the run, serve it with `engine` and collect its answers to the contract's examples."""
    local_endpoint.check_engine(engine)
    declared = contract.of(model)
    result = launch.new_run(model, overrides)
    run_dir = result.paths.model_dir
    path = bundle.build(model, run_dir, bundle.default_path(run_dir))
    examples = declared.examples(run_dir, EXAMPLES)
    with local_endpoint.running(path, "127.0.0.1", client.free_port(), engine) as (url, _):
        answers = [client.invoke(url, example.body, example.content_type) for example in examples]
    for answer in answers:
        if answer.status != 200:
            raise ProjectError(f"the endpoint answered {answer.status}: {answer.body.decode(errors='replace')}")
    predictions = [answer.json()["predictions"][0] for answer in answers]
    return SmokeResult(run_dir, result.metrics, path, declared, examples, predictions)
