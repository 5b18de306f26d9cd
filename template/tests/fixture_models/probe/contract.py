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
    rows = data.sample_rows(Path(cfg.data.path), n, seed=3)
    return [
        contract.Example(
            json.dumps({"instances": [[float(row[name]) for name in cfg.data.features]]}),
            codecs.JSON,
            row[cfg.data.target],
            ", ".join(row[name] for name in cfg.data.features),
        )
        for row in rows
    ]


CONTRACT = contract.Contract(
    task="classification",
    goal=contract.Goal("val_accuracy", "max", threshold=0.8),
    examples=examples,
    accepts=(codecs.JSON, codecs.JSONLINES, codecs.CSV, codecs.NPY),
)
