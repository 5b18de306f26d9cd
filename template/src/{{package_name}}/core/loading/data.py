"""Data sets: read them, split them, batch them and draw samples from them.

A tabular source is a CSV (`.csv`, `.csv.gz`) or Parquet file, or a folder of such shards (how a
SageMaker channel arrives in `/opt/ml/input/data/<channel>`), read with pyarrow (tables.py, imported
when first needed: serving imports this module through a model's contract, and has no pyarrow):
`read_rows` gives its rows as text, `load_tabular` float32 features with class targets and
`load_regression` with numeric ones. Data larger than memory is streamed instead (streaming.py).
A folder with a sub-folder per class (images, say) is read with `labelled_files`. Splits are
seeded; training loaders are sharded by rank under torchrun and take their worker options from
the config (`loader_options`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler, TensorDataset

from ..basics import fingerprint
from ..basics.errors import DataError

if TYPE_CHECKING:
    from ..basics.config import DataConfig


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
    matrix, codes, classes = _tables().read_classes(files, names, target, classes, source)
    return _tabular(source, matrix, codes, names, classes)


def load_regression(source: Path, target: str, features: list[str] | None = None) -> TabularData:
    """Load `source` as float32 `features` (default: all but `target`) and float32 `target` values."""
    files, names = _columns(source, target, features)
    matrix, values = _tables().read_values(files, names, target)
    return _tabular(source, matrix, values, names, [])


def row_origin(source: Path, index: int) -> str:
    """Where the row at `index` of `source` (counting across its files from 0, as `read_rows` gives them) is."""
    tables = _tables()
    for file in tables.shard_files(source):
        rows = tables.count_rows(file)
        if index < rows:
            return f"{file}: {tables.where(file, index)}"
        index -= rows
    return f"{source}: row {index + 1}"


def split(data: TabularData, val_fraction: float, seed: int) -> tuple[TensorDataset, TensorDataset]:
    """A seeded random train/validation split (validation gets at least one row)."""
    train, val = split_indices(len(data), val_fraction, seed)
    return (
        TensorDataset(data.features[train], data.targets[train]),
        TensorDataset(data.features[val], data.targets[val]),
    )


def held_out(dataset: TabularData, settings: DataConfig, seed: int) -> tuple[TensorDataset, TensorDataset]:
    """Training and validation datasets: `settings.validation` when it is set (read with the same
    target, features and classes), else a seeded `settings.val_fraction` split of `dataset`."""
    if not settings.validation:
        return split(dataset, settings.val_fraction, seed)
    source, target = Path(settings.validation), settings.target
    if dataset.classes:
        val = load_tabular(source, target, dataset.feature_names, dataset.classes)
    else:
        val = load_regression(source, target, dataset.feature_names)
    return TensorDataset(dataset.features, dataset.targets), TensorDataset(val.features, val.targets)


def train_and_validation(n: int, held_out: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices into `n` training items followed by `held_out` validation items (from `data.validation`):
    the two parts when there is held-out data, else a seeded `val_fraction` split of the `n`."""
    if held_out:
        return torch.arange(n), torch.arange(n, n + held_out)
    return split_indices(n, val_fraction, seed)


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded random train and validation indices of `n` items (validation gets at least one)."""
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    if n < 2:
        raise DataError(f"{n} item(s) cannot be split into training and validation data")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = max(1, round(n * val_fraction))
    return order[n_val:], order[:n_val]


def loaders(
    data: TabularData,
    val_fraction: float,
    batch_size: int,
    seed: int,
    rank: int = 0,
    world_size: int = 1,
    **options: Any,
) -> tuple[DataLoader, DataLoader]:
    """Train (shuffled and seeded; this rank's shard of it) and validation loaders over a split of `data`.

    `options` are the worker options of `make_loader` (see `loader_options`).
    """
    return dataset_loaders(*split(data, val_fraction, seed), batch_size, seed, rank, world_size, **options)


def dataset_loaders(
    train: Dataset,
    val: Dataset,
    batch_size: int,
    seed: int,
    rank: int = 0,
    world_size: int = 1,
    collate_fn: Callable | None = None,
    **options: Any,
) -> tuple[DataLoader, DataLoader]:
    """Loaders over any train and validation datasets: the training one shuffled, seeded and sharded by rank.

    `collate_fn` makes batches of items that do not stack by themselves (texts of different lengths, say);
    `options` are the worker options of `make_loader` (see `loader_options`).
    """
    sampler = DistributedSampler(train, num_replicas=world_size, rank=rank, shuffle=True, seed=seed)
    return (
        make_loader(train, batch_size, sampler=sampler, collate_fn=collate_fn, **options),
        make_loader(val, batch_size, collate_fn=collate_fn, **options),
    )


def loader_options(settings: DataConfig) -> dict[str, Any]:
    """The DataLoader options of a data config, as keyword arguments of `loaders` and `dataset_loaders`."""
    return {
        "num_workers": settings.num_workers,
        "pin_memory": settings.pin_memory,
        "prefetch_factor": settings.prefetch_factor,
    }


def make_loader(
    dataset: Dataset,
    batch_size: int | None,
    *,
    sampler: Sampler | None = None,
    collate_fn: Callable | None = None,
    num_workers: int = 0,
    pin_memory: bool = False,
    prefetch_factor: int | None = None,
) -> DataLoader:
    """A DataLoader whose worker processes (if any) last for the whole run; `prefetch_factor` needs workers.

    `batch_size=None` takes a dataset that yields ready batches (a stream, say) as it is.
    """
    workers = {"persistent_workers": True, "prefetch_factor": prefetch_factor} if num_workers > 0 else {}
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        collate_fn=collate_fn,
        num_workers=num_workers,
        pin_memory=pin_memory,
        **workers,
    )


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
    """The pyarrow readers (tables.py), imported on first use."""
    from . import tables

    return tables


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
