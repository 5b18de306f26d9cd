"""CSV shards (`.csv`, `.csv.gz`) read as Arrow record batches in bounded memory; a bad line or value is named.

A CSV file is UTF-8 text (a byte-order mark is dropped). As in pyarrow's own CSV reading, a
newline always ends a row, even inside quotes. A line that is not UTF-8, or that has more or
fewer values than the header, is a `DataError` naming the line; so is a feature value that is
not a number, naming its row.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from ..basics.errors import DataError
from .shard_values import FLOAT, TEXT, first_line, refuse_missing_columns, refuse_non_number

CSV_BLOCK_BYTES = 1 << 21  # CSV text parsed at a time (by pyarrow's threads, a MiB each): bounds memory
_NULLS = pcsv.ConvertOptions().null_values  # what CSV parsing turns into missing values


def header(file: Path) -> list[str]:
    """The column names of a CSV file: its first line."""
    with pa.input_stream(file, compression="detect") as stream:  # `.csv.gz` too
        line, _ = _first_line(stream)
    return _names(line, file)


def record_batches(file: Path, columns: Mapping[str, pa.DataType]) -> Iterator[pa.RecordBatch]:
    """The `columns` of a CSV file as record batches of the given types (strings or float32)."""
    try:
        yield from _batches(file, columns)
    except (pa.ArrowInvalid, OSError) as error:
        if "invalid UTF8" in str(error) or "columns, got" in str(error):
            _raise_bad_line(file)
        if "conversion error" in str(error):
            _raise_bad_number(file, [name for name, kind in columns.items() if kind == FLOAT])
        raise DataError(f"{file}: not readable as CSV: {first_line(error)}") from error


def _batches(file: Path, columns: Mapping[str, pa.DataType]) -> Iterator[pa.RecordBatch]:
    """A CSV file's `columns`, CSV_BLOCK_BYTES of text at a time, each cut after its last whole line.

    Each piece is parsed by pyarrow's `read_csv`, with its threads (its streaming reader has one).
    """
    with pa.input_stream(file, compression="detect") as stream:
        line, rest = _first_line(stream)
        names = _names(line, file)
        refuse_missing_columns(file, columns, names)
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


def _first_line(stream: pa.NativeFile) -> tuple[bytes, bytes]:
    """The first line of a stream (with its newline), and what was read after it."""
    text = b""
    while b"\n" not in text and (more := stream.read(1 << 16)):
        text += more
    line, _, rest = text.partition(b"\n")
    return line + b"\n", rest


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
                refuse_non_number(numbers, file, start, name)
        start += len(batch)
    raise DataError(f"{file}: a feature column holds a value that is not a number")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
