"""Parquet shards read as Arrow record batches, a block of rows at a time; a value that is not a number is named."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..basics.errors import DataError
from .shard_values import FLOAT, TEXT, refuse_missing_columns, refuse_non_number

PARQUET_BLOCK_BYTES = 1 << 20  # decoded values per Parquet block (a row group's pages are read whole, though)


def record_batches(
    file: Path, columns: Mapping[str, pa.DataType], row_groups: Sequence[int] | None = None
) -> Iterator[pa.RecordBatch]:
    """The `columns` of a Parquet file as record batches of the given types: text, or float32 numbers.

    `row_groups` reads those row groups in that order (default: all, in order).
    """
    try:
        parquet = pq.ParquetFile(file, pre_buffer=False)  # pre-buffering reads whole row groups ahead
    except pa.ArrowException as error:
        raise DataError(f"{file}: not readable as Parquet: {error}") from error
    refuse_missing_columns(file, columns, parquet.schema_arrow.names)
    rows = max(1024, PARQUET_BLOCK_BYTES // (4 * max(1, len(columns))))
    start = 0
    for batch in parquet.iter_batches(rows, row_groups=row_groups, columns=list(columns), use_threads=False):
        arrays = [_column(batch.column(name), kind, file, start, name) for name, kind in columns.items()]
        yield pa.RecordBatch.from_arrays(arrays, names=list(columns))
        start += len(batch)


def _column(column: pa.Array, kind: pa.DataType, file: Path, start: int, name: str) -> pa.Array:
    """A Parquet column as text (missing values as "") or as float32 (numbers, or text holding numbers)."""
    if kind == TEXT:
        return pc.cast(column, TEXT).fill_null("")
    if column.type == FLOAT:
        return column
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    numeric = pa.types.is_integer(column.type) or pa.types.is_floating(column.type) or pa.types.is_decimal(column.type)
    if numeric:
        return pc.cast(column, FLOAT, safe=False)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        try:
            return pc.cast(pc.utf8_trim_whitespace(column), FLOAT)
        except pa.ArrowInvalid:
            refuse_non_number(pc.utf8_trim_whitespace(column), file, start, name)
    raise DataError(f"{file}: column '{name}' is not numeric (Parquet type {column.type})")
