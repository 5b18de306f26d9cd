"""Data sources read: tables into tensors or text rows, class folders into file lists, rows sampled.

A tabular source is a CSV (`.csv`, `.csv.gz`) or Parquet file, or a folder of such shards (how a
SageMaker channel arrives in `/opt/ml/input/data/<channel>`), read with pyarrow (tables.py and
feature_arrays.py, imported when first needed: serving imports this module through a model's
contract, and has no pyarrow): `read_rows` gives its rows as text, `load_tabular` float32
features with class targets and `load_regression` with numeric ones. Data larger than memory is
streamed instead (streaming.py); batching.py splits and batches what is read here.
A folder with a sub-folder per class (images, say) is read with `labelled_files`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ..basics import fingerprint, moved
from ..basics.errors import DataError


@dataclass
class TabularData:
    """Numeric features, their targets, and the names of both."""

    features: torch.Tensor  # float32, shape (rows, features)
    targets: torch.Tensor  # int64 class indices, shape (rows,); float32 values for `load_regression`
    feature_names: list[str]
    classes: list[str]  # empty for numeric targets

    def __len__(self) -> int:
        return len(self.targets)


def channel_files(source: Path) -> dict[str, Path]:
    """What a training job's data channel receives: a file, or a folder's files (any type, any depth).

    Keys are paths relative to the channel; hidden files and folders are left out. These are the
    files a data fingerprint covers (`fingerprint.files`).
    """
    try:
        return fingerprint.files(source)
    except fingerprint.FingerprintError as error:
        raise DataError(str(error)) from error


def read_rows(source: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows (as {column: text}) of every file of `source`; headers must agree."""
    tables = _tables()
    files = tables.shard_files(source)
    header = tables.shared_header(files)
    return header, tables.text_rows(files, header)


def load_tabular(
    source: Path,
    target: str,
    features: list[str] | None = None,
    classes: list[str] | None = None,
) -> TabularData:
    """Load `source` as float32 `features` (default: all but `target`) and class targets.

    `classes` default to the sorted distinct labels; a label that is not among given ones is an error.
    """
    files, names = _columns(source, target, features)
    matrix, codes, classes = _arrays().read_classes(files, names, target, classes, source)
    return _tabular(source, matrix, codes, names, classes)


def load_regression(source: Path, target: str, features: list[str] | None = None) -> TabularData:
    """Load `source` as float32 `features` (default: all but `target`) and float32 `target` values."""
    files, names = _columns(source, target, features)
    matrix, values = _arrays().read_values(files, names, target)
    return _tabular(source, matrix, values, names, [])


def row_origin(source: Path, index: int) -> str:
    """Where the row at `index` of `source` (counting across its files from 0, as `read_rows` gives them) is."""
    from . import shard_values, tables

    for file in tables.shard_files(source):
        rows = tables.count_rows(file)
        if index < rows:
            return f"{file}: {shard_values.where(file, index)}"
        index -= rows
    return f"{source}: row {index + 1}"


def labelled_files(source: Path, suffixes: tuple[str, ...]) -> tuple[list[Path], list[str]]:
    """Files of `source/<class>/` with one of `suffixes` (a folder per class), and their class names."""
    source = Path(source)
    if not source.is_dir():
        raise DataError(f"data not found: {source} (expected a folder with a sub-folder per class)")
    files = sorted(p for p in source.glob("*/*") if p.is_file() and p.suffix.lower() in suffixes)
    if not files:
        raise DataError(f"no {', '.join(suffixes)} files in the class folders of {source}")
    return files, [path.parent.name for path in files]


def sample_rows(source: Path, n: int, seed: int = 0, columns: list[str] | None = None) -> list[dict[str, str]]:
    """`n` rows drawn at random (seeded) from `source`, optionally only some `columns`; only those rows are kept."""
    tables = _tables()
    files = tables.shard_files(source)
    header = tables.shared_header(files)
    total = sum(tables.count_rows(file) for file in files)
    picks = random.Random(seed).sample(range(total), min(n, total))
    return tables.text_rows(files, columns or header, picks)


def labelled_samples(
    source: Path, features: list[str], target: str, n: int, seed: int = 0
) -> tuple[list[dict[str, float]], list[str]]:
    """`n` seeded rows of `source` as request rows ({feature: value}), and their target labels."""
    rows = sample_rows(source, n, seed)
    return [{name: float(row[name]) for name in features} for row in rows], [row[target] for row in rows]


def _tables():
    """The pyarrow readers of shards (tables.py), imported on first use."""
    from . import tables

    return tables


def _arrays():
    """The pyarrow readers of feature arrays (feature_arrays.py), imported on first use."""
    from . import feature_arrays

    return feature_arrays


def _columns(source: Path, target: str, features: Sequence[str] | None) -> tuple[list[Path], list[str]]:
    """The files of `source` and the feature names, checked against their shared header."""
    tables = _tables()
    files = tables.shard_files(source)
    header = tables.shared_header(files)
    names = list(features) if features else [name for name in header if name != target]
    missing = [name for name in [target, *names] if name not in header]
    if missing:
        raise DataError(f"{source}: missing column(s) {missing}; the header is {header}")
    return files, names


def _tabular(source: Path, features, targets, names: list[str], classes: list[str]) -> TabularData:
    """Numpy features and targets as a `TabularData`, refusing a source without rows."""
    if not len(features):
        raise DataError(f"{source}: no data rows")
    return TabularData(torch.from_numpy(features), torch.from_numpy(targets), names, classes)


# Names earlier model folders use here, now in a sibling module (found with a DeprecationWarning).
MOVED = {
    "dataset_loaders": "batching",
    "held_out": "batching",
    "loader_options": "batching",
    "train_and_validation": "batching",
    "split": "batching",
    "split_indices": "batching",
    "make_loader": "batching",
    "loaders": "legacy",
}
__getattr__ = moved.forwarder(__name__, MOVED)
