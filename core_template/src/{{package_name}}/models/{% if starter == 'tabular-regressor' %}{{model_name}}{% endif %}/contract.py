"""This model's contract: what core reads about it (see core/catalog/contract.py)."""

from __future__ import annotations

import json
from pathlib import Path

from ...core.basics import config
from ...core.catalog import contract, runs
from ...core.inference import codecs
from ...core.loading import data
from . import model


def examples(run_dir: Path, n: int) -> list[contract.Example]:
    """`n` rows of the run's own data as JSON requests, with their true target values."""
    cfg = config.load(model.Config, Path(run_dir) / runs.CONFIG)
    rows = data.sample_rows(Path(cfg.data.path), n, seed=3)
    categorical = set(cfg.data.categorical)

    def instance(row: dict[str, str]) -> dict[str, object]:
        return {name: row[name] if name in categorical else float(row[name]) for name in cfg.data.features}

    return [
        contract.Example(
            body=json.dumps({"instances": [instance(row)]}),
            content_type=codecs.JSON,
            expected=float(row[cfg.data.target]),
            shown=", ".join(f"{name}={row[name]}" for name in cfg.data.features),
        )
        for row in rows
    ]


CONTRACT = contract.Contract(
    task="regression",
    goal=contract.Goal("val_mae", "min", threshold=30.0),
    examples=examples,
    accepts=(codecs.JSON, codecs.JSONLINES, codecs.CSV),
)
