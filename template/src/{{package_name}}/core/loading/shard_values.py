"""The values read from a tabular shard, checked: present columns, finite numbers; an error names the file and row.

Rows count from 1; in a CSV file row 1 is line 2, after the header (`where`). Arrow arrays of
float32 or int32 values become numpy arrays without a copy (`numpy_view`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..basics.errors import DataError

FLOAT = pa.float32()
TEXT = pa.string()
_NUMPY = {FLOAT: np.float32, pa.int32(): np.int32}


def is_parquet(path: Path) -> bool:
    return path.name.lower().endswith(".parquet")


def where(file: Path, index: int) -> str:
    """How an error names the row at 0-based `index` of `file`."""
    return f"row {index + 1}" if is_parquet(file) else f"row {index + 1} (line {index + 2})"


def numpy_view(array: pa.Array) -> np.ndarray:
    """A float32 or int32 Arrow array without missing values as numpy, without a copy or `to_numpy`'s pandas import."""
    dtype = np.dtype(_NUMPY[array.type])
    return np.frombuffer(array.buffers()[1], dtype, len(array), array.offset * dtype.itemsize)


def finite(column: pa.Array, file: Path, start: int, name: str) -> np.ndarray:
    """A float32 column as numpy (no copy), refusing empty, NaN and infinite values."""
    refuse_missing(column, file, start, name)
    values = numpy_view(column)
    ok = np.isfinite(values)
    if not ok.all():
        refuse_value(values, int(np.argmin(ok)), file, start, name)
    return values


def refuse_missing(column: pa.Array, file: Path, start: int, name: str) -> None:
    """Refuse a column with an empty value; `start` is the file row of the column's first value."""
    if column.null_count:
        index = pc.index(column.is_null(), True).as_py()
        raise DataError(
            f"{file}: {where(file, start + index)}: column '{name}' is empty or NaN (it must be a finite number)"
        )


def refuse_value(values: np.ndarray, index: int, file: Path, start: int, name: str) -> None:
    """Refuse the value at `index` of `values` (NaN or infinite)."""
    raise DataError(
        f"{file}: {where(file, start + index)}: column '{name}' is {values[index]} (it must be a finite number)"
    )


def refuse_non_number(column: pa.Array, file: Path, start: int, name: str) -> None:
    """Refuse a text column's first value that does not convert to float32 (called where a cast failed)."""
    index, value = _first_non_number(column)
    raise DataError(f"{file}: {where(file, start + index)}: column '{name}' is non-numeric ({value!r})") from None


def refuse_missing_columns(file: Path, columns: Mapping[str, pa.DataType], names: Sequence[str]) -> None:
    """Refuse a file whose columns `names` lack one of `columns`."""
    missing = [name for name in columns if name not in names]
    if missing:
        raise DataError(f"{file}: missing column(s) {missing}; the header is {list(names)}")


def first_line(error: Exception) -> str:
    """The first line of an error's message."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _first_non_number(column: pa.Array) -> tuple[int, str]:
    """The index and text of the first value of a text column that does not convert to float32."""
    for index, value in enumerate(column.to_pylist()):
        try:
            pc.cast(pa.array([value], TEXT), FLOAT)
        except pa.ArrowInvalid:
            return index, value
    return 0, ""
