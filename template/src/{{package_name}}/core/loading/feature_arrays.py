"""Tabular shards as numpy arrays: float32 features (every value a finite number) and their targets.

`blocks` reads one shard a block of rows at a time, in bounded memory (a streamed data set's
unit); `read_classes` and `read_values` gather every block of every shard into one features
array without a second copy, with class indices or numeric targets.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from ..basics.errors import DataError
from .shard_values import FLOAT, TEXT, finite, is_parquet, numpy_view, refuse_missing, refuse_value
from .tables import count_rows, record_batches


@dataclass(frozen=True)
class Block:
    """Consecutive rows of one shard: float32 features (rows, features) and their targets."""

    features: np.ndarray
    targets: pa.Array | None  # labels as strings, or float32 numbers; None without a target column
    file: Path
    start: int  # the index of its first row in the file

    def __len__(self) -> int:
        return len(self.features)


def blocks(
    file: Path,
    features: Sequence[str],
    target: str | None = None,
    target_type: pa.DataType = TEXT,
    row_groups: Sequence[int] | None = None,
) -> Iterator[Block]:
    """`file` a block of rows at a time: its `features` as a float32 array, and its `target` column."""
    start = 0
    for batch in record_batches(file, _columns(features, target, target_type), row_groups):
        matrix = np.empty((len(batch), len(features)), np.float32)
        yield Block(matrix, _fill(matrix, batch, features, target, target_type, file, start), file, start)
        start += len(batch)


def read_classes(
    files: Sequence[Path], features: Sequence[str], target: str, classes: Sequence[str] | None, source: object
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Every row of `files`: float32 features (rows, features), the int64 class index of each `target` label,
    and the classes (given, or the sorted distinct labels); a label that is not a class is an error about `source`."""
    matrix, labels = read_features(files, features, target, TEXT)
    seen = set().union(*(chunk.dictionary.to_pylist() for chunk in labels))
    classes = list(classes) if classes else sorted(seen)
    unknown = sorted(seen - set(classes))
    if unknown:
        raise DataError(f"{source}: label(s) {unknown} are not among the classes {classes}")
    index = {label: i for i, label in enumerate(classes)}
    codes, row = np.empty(len(matrix), np.int64), 0
    for chunk in labels:
        codes[row : row + len(chunk)] = label_codes(chunk, index, source)
        row += len(chunk)
    return matrix, codes, classes


def read_values(files: Sequence[Path], features: Sequence[str], target: str) -> tuple[np.ndarray, np.ndarray]:
    """Every row of `files`: float32 features (rows, features) and the float32 (finite) `target` values."""
    matrix, values = read_features(files, features, target, FLOAT)
    return matrix, np.concatenate([numpy_view(chunk) for chunk in values] or [np.empty(0, np.float32)])


def read_features(
    files: Sequence[Path], features: Sequence[str], target: str | None = None, target_type: pa.DataType = TEXT
) -> tuple[np.ndarray, list[pa.Array]]:
    """Every row of `files`: features as one float32 array (rows, features), and the target column's chunks.

    The array is sized from Parquet metadata and grows in place (realloc, by a quarter) for CSV rows,
    so it is never held twice; label chunks are dictionary-encoded (an int32 per row).
    """
    capacity = 1024 + sum(count_rows(file) for file in files if is_parquet(file))
    matrix, rows, targets = np.empty((capacity, len(features)), np.float32), 0, []
    for file in files:
        start = 0
        for batch in _read_ahead(record_batches(file, _columns(features, target, target_type))):
            if rows + len(batch) > len(matrix):
                matrix.resize((max(len(matrix) * 5 // 4, rows + len(batch)), len(features)), refcheck=False)
            column = _fill(matrix[rows : rows + len(batch)], batch, features, target, target_type, file, start)
            if column is not None:
                targets.append(column.dictionary_encode() if target_type == TEXT else column)
            rows, start = rows + len(batch), start + len(batch)
    matrix.resize((rows, len(features)), refcheck=False)
    return matrix, targets


def label_codes(labels: pa.Array, index: Mapping[str, int], source: object) -> np.ndarray:
    """The class index (int64) of each label; a `DataError` lists labels that are not classes."""
    labels = labels if pa.types.is_dictionary(labels.type) else labels.dictionary_encode()
    seen = labels.dictionary.to_pylist()
    unknown = sorted(set(seen) - index.keys())
    if unknown:
        raise DataError(f"{source}: label(s) {unknown} are not among the classes {list(index)}")
    lookup = np.array([index[label] for label in seen], np.int64)
    return lookup[numpy_view(labels.indices)]


def _read_ahead(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The batches, the next one read in a thread while the caller copies this one (Arrow and numpy free the GIL)."""
    with ThreadPoolExecutor(1) as reader:
        coming = reader.submit(next, batches, None)
        while (batch := coming.result()) is not None:
            coming = reader.submit(next, batches, None)
            yield batch


def _columns(features: Sequence[str], target: str | None, target_type: pa.DataType) -> dict[str, pa.DataType]:
    """The columns to read and their types: float32 features, and the target."""
    columns = dict.fromkeys(features, FLOAT)
    if target is not None:
        columns[target] = target_type
    return columns


def _fill(
    out: np.ndarray,
    batch: pa.RecordBatch,
    features: Sequence[str],
    target: str | None,
    target_type: pa.DataType,
    file: Path,
    start: int,
) -> pa.Array | None:
    """Copy the batch's (finite) features into the rows `out`; return its target column (numbers checked finite)."""
    for j, name in enumerate(features):
        column = batch.column(name)
        refuse_missing(column, file, start, name)
        out[:, j] = numpy_view(column)
    ok = np.isfinite(out)  # one pass over the block, not one per column
    if not ok.all():
        row, j = np.argwhere(~ok)[0]
        refuse_value(out[:, j], int(row), file, start, features[j])
    if target is None:
        return None
    if target_type == FLOAT:
        finite(batch.column(target), file, start, target)
    return batch.column(target)
