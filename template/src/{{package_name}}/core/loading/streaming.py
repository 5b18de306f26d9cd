"""Data larger than memory: the CSV and Parquet shards of a folder read as a stream of ready batches.

`ShardStream` is an `IterableDataset` yielding (features, targets) batches of `batch_size` rows
(float32 features; int64 class indices, or float32 values without `classes`), so a DataLoader takes
it with `batch_size=None` and adds no per-row work. Memory stays bounded: each reader (the process,
or each of its DataLoader workers) holds one read block (csv_shards.py: 2 MiB of CSV text, or
about a Parquet row group) and its rows, and less than a batch of rows carried over to the next block.

Shards, not rows, are divided: with R ranks of W workers, reader `worker * R + rank` takes every
(R*W)th shard of the epoch's order (ranks take turns first, so their shares differ by one shard at
most), and there must be at least R*W shards (a `DataError` otherwise).
DDP needs every rank to take the same number of steps, so with R > 1 an epoch stops each rank at
the fewest batches any rank's shards give (row counts are taken once, at construction: Parquet
metadata, a counting pass over CSV shards); shards of equal size lose nothing.

`shuffle` reorders, seeded and differently every epoch, the shards, the row groups of Parquet
shards and the rows within each read block: not a full shuffle, so write rows to the shards in
random order. Each pass over a stream is its next epoch (persistent DataLoader workers count
theirs too); `set_epoch` sets the next one.

`loaders` builds the training and validation streams of a data config. The validation data is
`data.validation` when it is set; otherwise the last `val_fraction` of the training shards (at
least one) are held out, so streaming needs a validation source or a folder of two shards or more.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from ..basics.errors import DataError
from . import feature_arrays, tables
from .batching import loader_options, make_loader
from .shard_values import FLOAT, TEXT, is_parquet, numpy_view

if TYPE_CHECKING:
    from ..basics.config import DataConfig

Batch = tuple[torch.Tensor, torch.Tensor]


class ShardStream(IterableDataset):
    """Batches of `features` and `target` read shard by shard; classes map labels to indices (None: numbers)."""

    def __init__(
        self,
        files: Sequence[Path],
        features: Sequence[str],
        target: str,
        batch_size: int,
        classes: Sequence[str] | None = None,
        *,
        rank: int = 0,
        world_size: int = 1,
        shuffle: bool = False,
        seed: int = 0,
    ):
        if batch_size < 1:
            raise DataError(f"batch_size must be at least 1, got {batch_size}")
        self.files, self.features, self.target, self.batch_size = list(files), list(features), target, batch_size
        self.index = None if classes is None else {label: i for i, label in enumerate(classes)}
        self.rank, self.world_size, self.shuffle, self.seed = rank, world_size, shuffle, seed
        self.epoch = 0
        self.rows = [tables.count_rows(file) for file in self.files] if world_size > 1 else None

    def set_epoch(self, epoch: int) -> None:
        """The epoch of the next pass (it seeds the shuffle); later passes count on from it."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[Batch]:
        epoch, self.epoch = self.epoch, self.epoch + 1
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info else (1, 0)
        count = readers(len(self.files), self.world_size, workers)
        reader = worker * self.world_size + self.rank
        order = self._order(epoch)
        random = np.random.default_rng([self.seed, epoch, reader]) if self.shuffle else None
        batches = self._batches([self.files[i] for i in order[reader::count]], random)
        return itertools.islice(batches, self._limit(order, workers, worker))

    def head(self, rows: int) -> Batch:
        """The first `rows` rows of the shards in name order (or all, if fewer): to fit a standardisation, say."""
        taken = list(itertools.islice(self._batches(self.files, None), -(-rows // self.batch_size)))
        if not taken:
            raise DataError(f"{self.files[0].parent}: no data rows")
        return torch.cat([b[0] for b in taken])[:rows], torch.cat([b[1] for b in taken])[:rows]

    def _order(self, epoch: int) -> list[int]:
        """The shards' order this epoch, the same on every rank and worker."""
        if not self.shuffle:
            return list(range(len(self.files)))
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.files)).tolist()

    def _batches(self, files: list[Path], random: np.random.Generator | None) -> Iterator[Batch]:
        """Whole batches of the rows of `files` (rows short of one carry over to the next block), then the rest."""
        kept: tuple[np.ndarray, np.ndarray] | None = None
        for file in files:
            groups = _shuffled_row_groups(file, random)
            for block in feature_arrays.blocks(file, self.features, self.target, self._target_type(), groups):
                features, targets = block.features, self._targets(block)
                if random is not None:
                    order = random.permutation(len(features))
                    features, targets = features[order], targets[order]
                if kept is not None:
                    features, targets = np.concatenate([kept[0], features]), np.concatenate([kept[1], targets])
                full = len(features) - len(features) % self.batch_size
                for start in range(0, full, self.batch_size):
                    end = start + self.batch_size
                    yield torch.from_numpy(features[start:end]), torch.from_numpy(targets[start:end])
                kept = (features[full:], targets[full:]) if full < len(features) else None
        if kept is not None:
            yield torch.from_numpy(kept[0]), torch.from_numpy(kept[1])

    def _target_type(self):
        return FLOAT if self.index is None else TEXT

    def _targets(self, block: feature_arrays.Block) -> np.ndarray:
        if self.index is None:
            return numpy_view(block.targets).copy()
        return feature_arrays.label_codes(block.targets, self.index, block.file)

    def _limit(self, order: list[int], workers: int, worker: int) -> int | None:
        """How many batches this reader yields so that every rank takes as many steps (None: all it has)."""
        if self.rows is None:
            return None
        count = self.world_size * workers
        batches = [-(-sum(self.rows[i] for i in order[r::count]) // self.batch_size) for r in range(count)]
        ranks = [batches[rank :: self.world_size] for rank in range(self.world_size)]  # each rank's workers
        mine, excess = ranks[self.rank], sum(ranks[self.rank]) - min(map(sum, ranks))
        for w in reversed(range(workers)):  # trim the excess off this rank's last workers first
            cut = min(excess, mine[w])
            mine[w], excess = mine[w] - cut, excess - cut
        return mine[worker]


def readers(shards: int, world_size: int, workers: int) -> int:
    """How many readers share the shards (ranks times workers); a `DataError` when some would get none."""
    workers = max(1, workers)
    if shards < world_size * workers:
        raise DataError(
            f"{shards} shard(s) cannot feed {world_size} rank(s) x {workers} DataLoader worker(s): every reader "
            f"needs a shard of its own; split the data into at least {world_size * workers} files, or use fewer workers"
        )
    return world_size * workers


def split_shards(settings: DataConfig) -> tuple[list[Path], list[Path]]:
    """Training and validation shards: `validation`'s files, or the last `val_fraction` of `path`'s (at least one)."""
    files = tables.shard_files(Path(settings.path))
    if settings.validation:
        return files, tables.shard_files(Path(settings.validation))
    if len(files) < 2:
        raise DataError(
            f"{settings.path}: streaming needs data.validation, or two shards or more (the last are held out)"
        )
    held = min(len(files) - 1, max(1, round(len(files) * settings.val_fraction)))
    return files[:-held], files[-held:]


def loaders(settings: DataConfig, seed: int, rank: int = 0, world_size: int = 1) -> tuple[DataLoader, DataLoader]:
    """Training (shuffled; this rank's shards) and validation streams of a classification data config.

    Fills in `settings.features` (default: every column but the target) and `settings.classes`
    (default: the sorted distinct labels, a pass over the target column of every shard).
    """
    train, val = split_shards(settings)
    header = tables.shared_header([*train, *val])
    settings.features = list(settings.features or [name for name in header if name != settings.target])
    missing = [name for name in [settings.target, *settings.features] if name not in header]
    if missing:
        raise DataError(f"{settings.path}: missing column(s) {missing}; the header is {header}")
    settings.classes = list(settings.classes or tables.distinct_labels([*train, *val], settings.target))
    options = loader_options(settings)
    readers(len(train), world_size, options["num_workers"])
    columns = {"features": settings.features, "target": settings.target, "classes": settings.classes}
    stream = ShardStream(
        train, **columns, batch_size=settings.batch_size, rank=rank, world_size=world_size, shuffle=True, seed=seed
    )
    held_out = ShardStream(val, **columns, batch_size=settings.batch_size)
    val_options = {**options, "num_workers": min(options["num_workers"], len(val))}
    return make_loader(stream, None, **options), make_loader(held_out, None, **val_options)


def _shuffled_row_groups(file: Path, random: np.random.Generator | None) -> list[int] | None:
    """A Parquet shard's row groups in a random order (None: in file order)."""
    if random is None or not is_parquet(file):
        return None
    return random.permutation(tables.row_group_count(file)).tolist()
