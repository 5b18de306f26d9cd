"""Helpers model folders of earlier releases call that the core no longer uses itself."""

from __future__ import annotations

from torch.utils.data import DataLoader

from .batching import dataset_loaders, split
from .data import TabularData


def loaders(
    data: TabularData, val_fraction: float, batch_size: int, seed: int, rank: int = 0, world_size: int = 1
) -> tuple[DataLoader, DataLoader]:
    """Train (shuffled, seeded, this rank's shard) and validation loaders over a split of `data`."""
    return dataset_loaders(*split(data, val_fraction, seed), batch_size, seed, rank, world_size)
