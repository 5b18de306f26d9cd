"""Tabular shards, CSV (`.csv`, `.csv.gz`) and Parquet, as files, headers and Arrow record batches, read with pyarrow.

A source is one file or a folder of them; the shards of a folder must have the same columns in
the same order. Reading is a block of rows at a time, in bounded memory (csv_shards.py,
parquet_shards.py); feature_arrays.py turns the batches into float32 arrays.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..basics.errors import DataError
from . import csv_shards, parquet_shards
from .shard_values import TEXT, first_line, is_parquet

SUFFIXES = (".csv", ".csv.gz", ".parquet")


def shard_files(source: Path) -> list[Path]:
    """The data files of a source: the file itself, or a folder's CSV and Parquet files in name order."""
    source = Path(source)
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.is_file() and is_table(p) and not p.name.startswith("."))
        if not files:
            raise DataError(f"no data files ({', '.join(SUFFIXES)}) in {source}")
        return files
    if not source.is_file():
        raise DataError(f"data not found: {source}")
    return [source]


def is_table(path: Path) -> bool:
    return path.name.lower().endswith(SUFFIXES)


def header(file: Path) -> list[str]:
    """The column names of `file` (its CSV header row, or its Parquet schema), read without the data."""
    try:
        return pq.read_schema(file).names if is_parquet(file) else csv_shards.header(file)
    except (pa.ArrowInvalid, OSError) as error:  # OSError: a `.gz` file that is not gzip, say
        if "Empty CSV file" in str(error):
            raise DataError(f"{file}: empty file, expected a header row") from error
        kind = "Parquet" if is_parquet(file) else "CSV"
        raise DataError(f"{file}: not readable as {kind}: {first_line(error)}") from error


def shared_header(files: Sequence[Path]) -> list[str]:
    """The column names every file has; a `DataError` names the first file that differs."""
    first = header(files[0])
    for file in files[1:]:
        if header(file) != first:
            raise DataError(f"{file}: header differs from the first file's {first}")
    return first


def count_rows(file: Path) -> int:
    """Rows of `file`: free for Parquet (its metadata), a parsing pass for CSV."""
    if is_parquet(file):
        return pq.ParquetFile(file).metadata.num_rows
    first = header(file)[:1]
    return sum(len(batch) for batch in record_batches(file, dict.fromkeys(first, TEXT)))


def row_group_count(file: Path) -> int:
    """Row groups of a Parquet file (the unit it is read in); 0 for CSV."""
    return pq.ParquetFile(file).num_row_groups if is_parquet(file) else 0


def record_batches(
    file: Path, columns: Mapping[str, pa.DataType], row_groups: Sequence[int] | None = None
) -> Iterator[pa.RecordBatch]:
    """The `columns` of `file` as record batches of the given types (strings or float32), a block at a time.

    `row_groups` reads those Parquet row groups in that order (default: all, in order).
    """
    if is_parquet(file):
        return parquet_shards.record_batches(file, columns, row_groups)
    return csv_shards.record_batches(file, columns)


def distinct_labels(files: Sequence[Path], target: str) -> list[str]:
    """The sorted distinct values of column `target` (a pass over that column alone)."""
    seen: set[str] = set()
    for file in files:
        for batch in record_batches(file, {target: TEXT}):
            seen.update(pc.unique(batch.column(0)).to_pylist())
    return sorted(seen)


def text_rows(
    files: Sequence[Path], columns: Sequence[str], picks: Sequence[int] | None = None
) -> list[dict[str, str]]:
    """Rows of `files` as {column: text}: all of them, or those at indices `picks` (counting across files), in order."""
    wanted = None if picks is None else sorted(set(picks))
    found: dict[int, dict[str, str]] = {}
    rows: list[dict[str, str]] = []
    offset = 0
    for file in files:
        for batch in record_batches(file, dict.fromkeys(columns, TEXT)):
            if wanted is None:
                rows.extend(batch.to_pylist())
            else:
                here = wanted[bisect.bisect_left(wanted, offset) : bisect.bisect_left(wanted, offset + len(batch))]
                taken = batch.take(pa.array([i - offset for i in here], pa.int64())).to_pylist()
                found.update(zip(here, taken, strict=True))
            offset += len(batch)
    return rows if picks is None else [found[i] for i in picks]
