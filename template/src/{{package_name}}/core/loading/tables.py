"""Tabular shards read with pyarrow: CSV (`.csv`, `.csv.gz`) and Parquet files, one file or a folder of them.

One job: turn shards into arrays. `blocks` reads one shard a block of rows at a time, in bounded
memory (`CSV_BLOCK_BYTES` of text, or about a Parquet row group), as float32 features and their
targets; `read_classes` and `read_values` gather every block of every shard into one features
array without a second copy, with class indices or numeric targets. The shards of a folder must
have the same columns in the same order. Feature values must be finite numbers: a non-numeric,
empty, NaN or infinite one is a `DataError` naming the file and row (rows count from 1; in a CSV
file row 1 is line 2, after the header). As in pyarrow's own CSV reading, a newline always ends a
row, even inside quotes. A CSV file is UTF-8 text (a byte-order mark is dropped); a line that is
not, or that has more or fewer values than the header, is a `DataError` naming the line.
"""

from __future__ import annotations

import bisect
import csv
import gzip
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from ..basics.errors import DataError

SUFFIXES = (".csv", ".csv.gz", ".parquet")
CSV_BLOCK_BYTES = 1 << 21  # CSV text parsed at a time (by pyarrow's threads, a MiB each): bounds memory
PARQUET_BLOCK_BYTES = 1 << 20  # decoded values per Parquet block (a row group's pages are read whole, though)
FLOAT = pa.float32()
TEXT = pa.string()
_NULLS = pcsv.ConvertOptions().null_values  # what CSV parsing turns into missing values
_NUMPY = {FLOAT: np.float32, pa.int32(): np.int32}


@dataclass(frozen=True)
class Block:
    """Consecutive rows of one shard: float32 features (rows, features) and their targets."""

    features: np.ndarray
    targets: pa.Array | None  # labels as strings, or float32 numbers; None without a target column
    file: Path
    start: int  # the index of its first row in the file

    def __len__(self) -> int:
        return len(self.features)


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


def is_parquet(path: Path) -> bool:
    return path.name.lower().endswith(".parquet")


def header(file: Path) -> list[str]:
    """The column names of `file` (its CSV header row, or its Parquet schema), read without the data."""
    try:
        if is_parquet(file):
            return pq.read_schema(file).names
        with pa.input_stream(file, compression="detect") as stream:  # `.csv.gz` too
            line, _ = _first_line(stream)
        return _names(line, file)
    except (pa.ArrowInvalid, OSError) as error:  # OSError: a `.gz` file that is not gzip, say
        if "Empty CSV file" in str(error):
            raise DataError(f"{file}: empty file, expected a header row") from error
        raise DataError(f"{file}: not readable as {_kind(file)}: {_first(error)}") from error


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
        yield from _parquet_batches(file, columns, row_groups)
        return
    try:
        yield from _csv_batches(file, columns)
    except (pa.ArrowInvalid, OSError) as error:
        if "invalid UTF8" in str(error) or "columns, got" in str(error):
            _raise_bad_line(file)
        if "conversion error" in str(error):
            _raise_bad_number(file, [name for name, kind in columns.items() if kind == FLOAT])
        raise DataError(f"{file}: not readable as CSV: {_first(error)}") from error


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


def finite(column: pa.Array, file: Path, start: int, name: str) -> np.ndarray:
    """A float32 column as numpy (no copy), refusing empty, NaN and infinite values."""
    _refuse_missing(column, file, start, name)
    values = numpy_view(column)
    ok = np.isfinite(values)
    if not ok.all():
        _refuse_value(values, int(np.argmin(ok)), file, start, name)
    return values


def label_codes(labels: pa.Array, index: Mapping[str, int], source: object) -> np.ndarray:
    """The class index (int64) of each label; a `DataError` lists labels that are not classes."""
    labels = labels if pa.types.is_dictionary(labels.type) else labels.dictionary_encode()
    seen = labels.dictionary.to_pylist()
    unknown = sorted(set(seen) - index.keys())
    if unknown:
        raise DataError(f"{source}: label(s) {unknown} are not among the classes {list(index)}")
    lookup = np.array([index[label] for label in seen], np.int64)
    return lookup[numpy_view(labels.indices)]


def numpy_view(array: pa.Array) -> np.ndarray:
    """A float32 or int32 Arrow array without missing values as numpy, without a copy or `to_numpy`'s pandas import."""
    dtype = np.dtype(_NUMPY[array.type])
    return np.frombuffer(array.buffers()[1], dtype, len(array), array.offset * dtype.itemsize)


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


def where(file: Path, index: int) -> str:
    """How an error names the row at 0-based `index` of `file`."""
    return f"row {index + 1}" if is_parquet(file) else f"row {index + 1} (line {index + 2})"


def _kind(file: Path) -> str:
    return "Parquet" if is_parquet(file) else "CSV"


def _csv_batches(file: Path, columns: Mapping[str, pa.DataType]) -> Iterator[pa.RecordBatch]:
    """A CSV file's `columns`, CSV_BLOCK_BYTES of text at a time, each cut after its last whole line.

    Each piece is parsed by pyarrow's `read_csv`, with its threads (its streaming reader has one).
    """
    with pa.input_stream(file, compression="detect") as stream:
        line, rest = _first_line(stream)
        names = _names(line, file)
        _refuse_missing_columns(file, columns, names)
        read = pcsv.ReadOptions(column_names=names, block_size=max(1 << 20, 1024 * len(names)))  # whole rows
        convert = pcsv.ConvertOptions(column_types=dict(columns), include_columns=list(columns))
        while True:
            more = stream.read(CSV_BLOCK_BYTES)
            text = rest + more
            cut = text.rfind(b"\n") + 1 if more else len(text)
            if cut:
                piece = pa.py_buffer(memoryview(text)[:cut])
                yield from pcsv.read_csv(piece, read_options=read, convert_options=convert).to_batches()
            rest = text[cut:]
            if not more:
                return


def _names(line: bytes, file: Path) -> list[str]:
    """The column names of a CSV file's first line; a line that is not UTF-8 text is a `DataError`."""
    if b"\0" in line or not _is_utf8(line):
        raise DataError(f"{file}: not a CSV file of UTF-8 text (its first line is not); save it as UTF-8 CSV")
    return pcsv.read_csv(pa.py_buffer(line)).schema.names


def _refuse_missing_columns(file: Path, columns: Mapping[str, pa.DataType], names: Sequence[str]) -> None:
    missing = [name for name in columns if name not in names]
    if missing:
        raise DataError(f"{file}: missing column(s) {missing}; the header is {list(names)}")


def _raise_bad_line(file: Path) -> None:
    """Name the first line of a CSV file that is not UTF-8 text, or has not as many values as its header."""
    expected = None
    with (gzip.open if file.name.lower().endswith(".gz") else open)(file, "rb") as lines:
        for number, line in enumerate(lines, 1):
            if not _is_utf8(line):
                raise DataError(f"{file}: line {number}: not UTF-8 text; save the file as UTF-8")
            text = line.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
            if not text:
                continue  # empty lines are skipped, as pyarrow does
            try:
                count = len(next(csv.reader([text])))
            except csv.Error:  # a value over the csv module's size limit, say: not a count to compare
                continue
            expected = expected or count
            if count != expected:
                raise DataError(f"{file}: line {number}: {count} values, but the header has {expected} columns")
    raise DataError(f"{file}: not readable as CSV")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _first(error: Exception) -> str:
    """The first line of an error's message."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _first_line(stream: pa.NativeFile) -> tuple[bytes, bytes]:
    """The first line of a stream (with its newline), and what was read after it."""
    text = b""
    while b"\n" not in text and (more := stream.read(1 << 16)):
        text += more
    line, _, rest = text.partition(b"\n")
    return line + b"\n", rest


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
        _refuse_missing(column, file, start, name)
        out[:, j] = numpy_view(column)
    ok = np.isfinite(out)  # one pass over the block, not one per column
    if not ok.all():
        row, j = np.argwhere(~ok)[0]
        _refuse_value(out[:, j], int(row), file, start, features[j])
    if target is None:
        return None
    if target_type == FLOAT:
        finite(batch.column(target), file, start, target)
    return batch.column(target)


def _refuse_missing(column: pa.Array, file: Path, start: int, name: str) -> None:
    if column.null_count:
        index = pc.index(column.is_null(), True).as_py()
        raise DataError(
            f"{file}: {where(file, start + index)}: column '{name}' is empty or NaN (it must be a finite number)"
        )


def _refuse_value(values: np.ndarray, index: int, file: Path, start: int, name: str) -> None:
    raise DataError(
        f"{file}: {where(file, start + index)}: column '{name}' is {values[index]} (it must be a finite number)"
    )


def _parquet_batches(
    file: Path, columns: Mapping[str, pa.DataType], row_groups: Sequence[int] | None
) -> Iterator[pa.RecordBatch]:
    try:
        parquet = pq.ParquetFile(file, pre_buffer=False)  # pre-buffering reads whole row groups ahead
    except pa.ArrowException as error:
        raise DataError(f"{file}: not readable as Parquet: {error}") from error
    _refuse_missing_columns(file, columns, parquet.schema_arrow.names)
    rows = max(1024, PARQUET_BLOCK_BYTES // (4 * max(1, len(columns))))
    start = 0
    for batch in parquet.iter_batches(rows, row_groups=row_groups, columns=list(columns), use_threads=False):
        arrays = [_parquet_column(batch.column(name), kind, file, start, name) for name, kind in columns.items()]
        yield pa.RecordBatch.from_arrays(arrays, names=list(columns))
        start += len(batch)


def _parquet_column(column: pa.Array, kind: pa.DataType, file: Path, start: int, name: str) -> pa.Array:
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
            index, value = _first_non_number(pc.utf8_trim_whitespace(column))
            raise DataError(
                f"{file}: {where(file, start + index)}: column '{name}' is non-numeric ({value!r})"
            ) from None
    raise DataError(f"{file}: column '{name}' is not numeric (Parquet type {column.type})")


def _raise_bad_number(file: Path, names: Sequence[str]) -> None:
    """Find the first value of `names` that CSV parsing could not read as a number, and name its row."""
    start = 0
    for batch in record_batches(file, dict.fromkeys(names, TEXT)):
        for name in names:
            text = pc.utf8_trim_whitespace(batch.column(name))
            numbers = pc.if_else(pc.is_in(text, value_set=pa.array(_NULLS)), None, text)
            try:
                pc.cast(numbers, FLOAT)
            except pa.ArrowInvalid:
                index, value = _first_non_number(numbers)
                raise DataError(
                    f"{file}: {where(file, start + index)}: column '{name}' is non-numeric ({value!r})"
                ) from None
        start += len(batch)
    raise DataError(f"{file}: a feature column holds a value that is not a number")


def _first_non_number(column: pa.Array) -> tuple[int, str]:
    """The index and text of the first value of a text column that does not convert to float32."""
    for index, value in enumerate(column.to_pylist()):
        try:
            pc.cast(pa.array([value], TEXT), FLOAT)
        except pa.ArrowInvalid:
            return index, value
    return 0, ""
