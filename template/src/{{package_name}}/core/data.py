"""Data sets: read them, split them, batch them and draw samples from them.

A tabular source is one CSV file with a header row, or a folder of such files (how a SageMaker
channel arrives in `/opt/ml/input/data/<channel>`): `read_rows` gives its rows as text, and
`load_tabular` numeric features with class targets. A folder with a sub-folder per class
(images, say) is read with `labelled_files`. Splits are seeded; training loaders are sharded by
rank under torchrun.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, TensorDataset

from .errors import ProjectError


class DataError(ProjectError):
    """A data source that is missing or does not have the expected columns and values."""


@dataclass
class TabularData:
    """Numeric features, integer class targets, and the names of both."""

    features: torch.Tensor  # float32, shape (rows, features)
    targets: torch.Tensor  # int64, shape (rows,)
    feature_names: list[str]
    classes: list[str]

    def __len__(self) -> int:
        return len(self.targets)


def csv_files(source: Path) -> list[Path]:
    """The CSV files of a data source: the file itself, or a folder's `*.csv` in name order."""
    source = Path(source)
    if source.is_dir():
        files = sorted(source.glob("*.csv"))
        if not files:
            raise DataError(f"no .csv files in {source}")
        return files
    if not source.is_file():
        raise DataError(f"data not found: {source}")
    return [source]


def channel_files(source: Path) -> dict[str, Path]:
    """What a training job's data channel receives: a file, or a folder's files (any type, any depth).

    Keys are paths relative to the channel; hidden files and folders are left out.
    """
    source = Path(source)
    if source.is_file():
        return {source.name: source}
    if not source.is_dir():
        raise DataError(f"data not found: {source}")
    files = {
        path.relative_to(source).as_posix(): path
        for path in sorted(source.rglob("*"))
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(source).parts)
    }
    if not files:
        raise DataError(f"no data files in {source}")
    return files


def read_rows(source: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows (as dicts) of every CSV file of `source`; headers must agree."""
    header: list[str] | None = None
    rows: list[dict[str, str]] = []
    for file in csv_files(source):
        with file.open(newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames:
                raise DataError(f"{file}: empty file, expected a header row")
            if header is not None and list(reader.fieldnames) != header:
                raise DataError(f"{file}: header differs from the first file's {header}")
            header = list(reader.fieldnames)
            rows.extend(reader)
    return header or [], rows


def load_tabular(
    source: Path,
    target: str,
    features: list[str] | None = None,
    classes: list[str] | None = None,
) -> TabularData:
    """Load `source` as numeric `features` (default: all but `target`) and class targets."""
    header, rows = read_rows(source)
    if not rows:
        raise DataError(f"{source}: no data rows")
    feature_names = list(features) if features else [c for c in header if c != target]
    missing = [c for c in [target, *feature_names] if c not in header]
    if missing:
        raise DataError(f"{source}: missing column(s) {missing}; the header is {header}")
    labels = [row[target] for row in rows]
    classes = list(classes) if classes else sorted(set(labels))
    return TabularData(
        features=_feature_tensor(rows, feature_names, source),
        targets=_target_tensor(labels, classes, source),
        feature_names=feature_names,
        classes=classes,
    )


def split(data: TabularData, val_fraction: float, seed: int) -> tuple[TensorDataset, TensorDataset]:
    """A seeded random train/validation split (validation gets at least one row)."""
    train, val = split_indices(len(data), val_fraction, seed)
    return (
        TensorDataset(data.features[train], data.targets[train]),
        TensorDataset(data.features[val], data.targets[val]),
    )


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
    data: TabularData, val_fraction: float, batch_size: int, seed: int, rank: int = 0, world_size: int = 1
) -> tuple[DataLoader, DataLoader]:
    """Train (shuffled and seeded; this rank's shard of it) and validation loaders over a split of `data`."""
    return dataset_loaders(*split(data, val_fraction, seed), batch_size, seed, rank, world_size)


def dataset_loaders(
    train: Dataset,
    val: Dataset,
    batch_size: int,
    seed: int,
    rank: int = 0,
    world_size: int = 1,
    collate_fn: Callable | None = None,
) -> tuple[DataLoader, DataLoader]:
    """Loaders over any train and validation datasets: the training one shuffled, seeded and sharded by rank.

    `collate_fn` makes batches of items that do not stack by themselves (texts of different lengths, say).
    """
    sampler = DistributedSampler(train, num_replicas=world_size, rank=rank, shuffle=True, seed=seed)
    return (
        DataLoader(train, batch_size=batch_size, sampler=sampler, collate_fn=collate_fn),
        DataLoader(val, batch_size=batch_size, collate_fn=collate_fn),
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
    """`n` rows drawn at random (seeded) from `source`, optionally only some `columns`."""
    _, rows = read_rows(source)
    picked = random.Random(seed).sample(rows, min(n, len(rows)))
    if columns:
        picked = [{c: row[c] for c in columns} for row in picked]
    return picked


def labelled_samples(
    source: Path, features: list[str], target: str, n: int, seed: int = 0
) -> tuple[list[dict[str, float]], list[str]]:
    """`n` seeded rows of `source` as request rows ({feature: value}), and their target labels."""
    rows = sample_rows(source, n, seed)
    return [{name: float(row[name]) for name in features} for row in rows], [row[target] for row in rows]


def _feature_tensor(rows: list[dict[str, str]], names: list[str], source: Path) -> torch.Tensor:
    values = []
    for line, row in enumerate(rows, start=2):
        try:
            values.append([float(row[name]) for name in names])
        except (TypeError, ValueError) as error:
            raise DataError(f"{source}: row {line} has a non-numeric feature ({error})") from error
    return torch.tensor(values, dtype=torch.float32)


def _target_tensor(labels: list[str], classes: list[str], source: Path) -> torch.Tensor:
    index = {label: i for i, label in enumerate(classes)}
    unknown = sorted(set(labels) - index.keys())
    if unknown:
        raise DataError(f"{source}: label(s) {unknown} are not among the classes {classes}")
    return torch.tensor([index[label] for label in labels], dtype=torch.int64)
