"""This model's contract: what core reads about it (see core/catalog/contract.py)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from ...core.basics import config
from ...core.catalog import contract, runs
from ...core.inference import codecs
from ...core.loading import data
from . import model


def examples(run_dir: Path, n: int) -> list[contract.Example]:
    """`n` texts of the run's own data with their true classes, sent as plain text and as JSON in turn."""
    cfg = config.load(model.Config, Path(run_dir) / runs.CONFIG)
    picked = []
    for i, row in enumerate(data.sample_rows(Path(cfg.data.path), n, seed=3)):
        text, as_json = row[cfg.data.text], i % 2 == 1
        picked.append(
            contract.Example(
                body=json.dumps({"instances": [text]}) if as_json else text,
                content_type=codecs.JSON if as_json else codecs.TEXT,
                expected=row[cfg.data.target],
                shown=textwrap.shorten(text, width=60, placeholder="..."),
            )
        )
    return picked


CONTRACT = contract.Contract(
    task="classification",
    goal=contract.Goal("val_accuracy", "max", threshold=0.85),
    examples=examples,
    artifacts=(model.VOCAB,),
    accepts=(codecs.JSON, codecs.JSONLINES, codecs.TEXT, codecs.CSV),
)
