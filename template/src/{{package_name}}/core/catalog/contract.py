"""The model contract: what a model folder declares about itself, and how core finds it.

Each model folder has a `contract.py` defining `CONTRACT = Contract(...)`: its task, the metric
it is judged by and that metric's direction, the files its runs write for serving, how to make
example requests from its own data, and the media types it takes and answers with. Core reads
the contract (`of(model)`) and never names a column, a label, a metric or a data type itself.

A model folder without a `contract.py` (rendered before contracts existed) is taken for what
every model was then: a tabular classifier judged by `val_accuracy`, taking JSON and CSV rows.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..basics import tasks
from ..basics.errors import ProjectError
from ..inference import bodies, codecs
from ..inference.decoders import Decoder
from ..inference.encoders import Encoder
from . import registry, runs

DIRECTIONS = ("min", "max")
LOSSES = ("train_loss", "val_loss")  # what core's training loop computes: lower is better
FILE = "contract.py"


class ContractError(ProjectError):
    """A contract that is missing a part or declares something impossible."""


@dataclass(frozen=True)
class Goal:
    """The metric a model is judged by, its direction, and what a trained model of it reaches."""

    metric: str
    direction: str  # "min" or "max"
    threshold: float | None = None  # reached on the model's sample data (its tests check it)

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ContractError(f"goal direction must be 'min' or 'max', not '{self.direction}'")

    def reached(self, value: float) -> bool:
        """Whether `value` is at least as good as the threshold."""
        if self.threshold is None:
            return True
        return value <= self.threshold if self.direction == "min" else value >= self.threshold


@dataclass(frozen=True)
class Example:
    """One request a model answers: its body and content type, the right answer, and the input as text."""

    body: str | bytes
    content_type: str
    expected: object = None
    shown: str = ""


Examples = Callable[[Path, int], list[Example]]


@dataclass(frozen=True)
class Contract:
    """What a model folder declares; core's training, bundling, serving and tests read it."""

    task: str
    goal: Goal
    examples: Examples  # (run folder, n) -> n example requests made from the run's own data
    artifacts: tuple[str, ...] = ()  # files of the run folder serving needs, next to the weights
    accepts: tuple[str, ...] = (codecs.JSON, codecs.CSV)  # request media types
    answers: tuple[str, ...] = (codecs.JSON, codecs.JSONLINES, codecs.CSV)  # response media types, preferred first
    decoders: Mapping[str, Decoder] = field(default_factory=dict)  # added to or replacing core's
    encoders: Mapping[str, Encoder] = field(default_factory=dict)
    headline: Callable[[dict], str] | None = None  # one prediction as text; default: the task's
    # (network, batch) -> (outputs, targets), for batches that are not (inputs, targets): dicts, say
    step: Callable | None = None

    def decode(self, body: str | bytes, content_type: str | None) -> codecs.Request:
        """A request body, decoded if it is of a type this model takes (else 415)."""
        decoders = {**bodies.DECODERS, **self.decoders}
        return bodies.decode(body, content_type, {kind: decoders[kind] for kind in self.accepts})

    def encode(self, result: object, accept: str | None) -> tuple[str | bytes, str]:
        """A response body in the type `accept` prefers among those this model answers with (else 406)."""
        encoders = {**bodies.ENCODERS, **self.encoders}
        return bodies.encode(result, accept, {kind: encoders[kind] for kind in self.answers})

    def show(self, prediction: dict) -> str:
        """One prediction as a short text (for `smoke` and the docs)."""
        headline = self.headline or tasks.get(self.task).headline
        return headline(prediction) if headline else json.dumps(prediction)

    def direction(self, metric: str) -> str:
        """Whether lower or higher `metric` is better: the goal's, or a loss core computes."""
        if metric == self.goal.metric:
            return self.goal.direction
        if metric in LOSSES:
            return "min"
        raise ContractError(f"the direction of '{metric}' is not known: give --goal min or max")


@functools.cache
def of(model: str) -> Contract:
    """The contract of `model`: its `contract.py`, or the one every model had before contracts."""
    if not (registry.folder(model) / FILE).is_file():
        return LEGACY
    contract = getattr(registry.module(model, Path(FILE).stem), "CONTRACT", None)
    if not isinstance(contract, Contract):
        raise ContractError(f"{registry.folder(model) / FILE} must define CONTRACT = Contract(...)")
    for name in contract.accepts:
        if name not in bodies.DECODERS and name not in contract.decoders:
            raise ContractError(f"model '{model}' accepts '{name}' but no decoder is registered for it")
    return contract


def has_contract(model: str) -> bool:
    """Whether `model`'s folder declares its contract."""
    return (registry.folder(model) / FILE).is_file()


def _legacy_examples(run_dir: Path, n: int) -> list[Example]:
    """Rows of the run's CSV data as JSON requests, with their labels (the pre-contract example model)."""
    from ..loading import data

    cfg = yaml.safe_load((Path(run_dir) / runs.CONFIG).read_text())["data"]
    rows, labels = data.labelled_samples(Path(cfg["path"]), cfg["features"], cfg["target"], n, seed=3)
    return [
        Example(json.dumps({"instances": [row]}), codecs.JSON, label, ", ".join(f"{v:g}" for v in row.values()))
        for row, label in zip(rows, labels, strict=True)
    ]


LEGACY = Contract(task="classification", goal=Goal("val_accuracy", "max", 0.8), examples=_legacy_examples)
