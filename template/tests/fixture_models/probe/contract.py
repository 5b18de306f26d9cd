"""The probe's contract."""

from __future__ import annotations

import json
from pathlib import Path

from ...core.basics import config
from ...core.catalog import contract, runs
from ...core.inference import codecs
from ...core.loading import data
from . import model


def examples(run_dir: Path, n: int) -> list[contract.Example]:
    cfg = config.load(model.Config, Path(run_dir) / runs.CONFIG)
    features, target = cfg.data.features, cfg.data.target
    return [example(row, features, target) for row in data.sample_rows(Path(cfg.data.path), n, seed=3)]


def example(row: dict[str, str], features: list[str], target: str) -> contract.Example:
    """One row as a JSON request, with its label as the expected answer."""
    body = json.dumps({"instances": [[float(row[name]) for name in features]]})
    return contract.Example(body, codecs.JSON, row[target], ", ".join(row[name] for name in features))


ACCEPTS = (codecs.JSON, codecs.JSONLINES, codecs.CSV, codecs.NPY)
GOAL = contract.Goal("val_accuracy", "max", threshold=0.8)
CONTRACT = contract.Contract("classification", GOAL, examples, accepts=ACCEPTS)
