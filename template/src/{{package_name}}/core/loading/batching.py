"""Training data into batches: a seeded train/validation split, then DataLoaders (the training one sharded by rank).

Under torchrun each rank takes its shard of the training data (`DistributedSampler`); worker
options come from the config's `data` section (`loader_options`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler, TensorDataset

from ..basics.errors import DataError
from .data import TabularData, load_regression, load_tabular

if TYPE_CHECKING:
    from ..basics.config import DataConfig


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
    """The DataLoader options of a data config, as keyword arguments of `dataset_loaders` and `make_loader`."""
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
