"""This model's contract: what core reads about it (see core/catalog/contract.py)."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image

from ...core.basics import config
from ...core.catalog import contract, runs
from ...core.inference import codecs
from ...core.loading import data
from . import model


def examples(run_dir: Path, n: int) -> list[contract.Example]:
    """`n` image files of the run's own data as requests, with their true classes."""
    cfg = config.load(model.Config, Path(run_dir) / runs.CONFIG)
    files, labels = data.labelled_files(Path(cfg.data.path), model.SUFFIXES)
    picked = random.Random(3).sample(range(len(files)), min(n, len(files)))
    return [
        contract.Example(
            body=files[i].read_bytes(),
            content_type=codecs.media_type_of(files[i]),
            expected=labels[i],
            shown=_shown(files[i]),
        )
        for i in picked
    ]


def _shown(path: Path) -> str:
    with Image.open(path) as image:
        return f"{path.parent.name}/{path.name} {image.width}x{image.height}"


CONTRACT = contract.Contract(
    task="classification",
    goal=contract.Goal("val_accuracy", "max", threshold=0.85),
    examples=examples,
    accepts=(codecs.PNG, codecs.JPEG, codecs.NPY),
)
