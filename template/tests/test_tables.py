"""Tables: CSV and Parquet files and folders of shards to float32 tensors, refusing what is not a finite number."""

import gzip
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

POINTS = pa.table({"x": [1.5, 3.0, 5.0], "y": [2, 4, 6], "label": ["b", "a", "b"]})


def write_csv(path, text):
    path.write_text(text)
    return path


def test_a_parquet_file_loads_like_the_same_csv_file(core, tmp_path):
    pq.write_table(POINTS, tmp_path / "a.parquet")
    write_csv(tmp_path / "a.csv", "x,y,label\n1.5,2,b\n3,4,a\n5,6,b\n")
    from_parquet = core.loading.data.load_tabular(tmp_path / "a.parquet", "label")
    from_csv = core.loading.data.load_tabular(tmp_path / "a.csv", "label")
    assert from_parquet.features.dtype == torch.float32 and from_parquet.features.is_contiguous()
    assert from_parquet.features.tolist() == from_csv.features.tolist() == [[1.5, 2.0], [3.0, 4.0], [5.0, 6.0]]
    assert from_parquet.targets.tolist() == from_csv.targets.tolist() == [1, 0, 1]
    assert from_parquet.classes == ["a", "b"] and from_parquet.feature_names == ["x", "y"]


def test_a_folder_of_csv_gzip_and_parquet_shards_is_one_data_set_in_name_order(core, tmp_path):
    write_csv(tmp_path / "part-0.csv", "x,y,label\n1,2,a\n")
    (tmp_path / "part-1.csv.gz").write_bytes(gzip.compress(b"x,y,label\n3,4,b\n"))
    pq.write_table(pa.table({"x": [5.0], "y": [6.0], "label": ["c"]}), tmp_path / "part-2.parquet")
    for ignored in ("README.md", ".part-3.csv", "_SUCCESS"):
        (tmp_path / ignored).write_text("not data")
    data = core.loading.data.load_tabular(tmp_path, "label")
    assert data.features.tolist() == [[1, 2], [3, 4], [5, 6]] and data.classes == ["a", "b", "c"]
    header, rows = core.loading.data.read_rows(tmp_path)
    assert header == ["x", "y", "label"] and [row["label"] for row in rows] == ["a", "b", "c"]


def test_shards_with_different_headers_are_refused_naming_the_file(core, tmp_path):
    write_csv(tmp_path / "a.csv", "x,y,label\n1,2,a\n")
    pq.write_table(pa.table({"x": [1.0], "label": ["a"]}), tmp_path / "b.parquet")
    with pytest.raises(core.loading.data.DataError, match=r"b\.parquet: header differs from the first file's"):
        core.loading.data.load_tabular(tmp_path, "label")


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("", "column 'y' is empty or NaN"),
        ("nan", "column 'y' is empty or NaN"),
        ("inf", "column 'y' is inf"),
        ("-inf", "column 'y' is -inf"),
        ("1,5", "line 3: 4 values, but the header has 3 columns"),  # one field too many
        ("two", r"column 'y' is non-numeric \('two'\)"),
    ],
)
def test_a_feature_that_is_not_a_finite_number_is_refused_naming_file_and_row(core, tmp_path, cell, message):
    source = write_csv(tmp_path / "a.csv", f"x,y,label\n1,2,a\n3,{cell},b\n")
    where = r"row 2 \(line 3\): " if "line 3" not in message else ""
    with pytest.raises(core.loading.data.DataError, match=rf"a\.csv: {where}{message}"):
        core.loading.data.load_tabular(source, "label")


def test_a_byte_order_mark_is_not_part_of_the_first_column_name(core, tmp_path):
    source = tmp_path / "a.csv"
    source.write_bytes("x,y,label\n1,2,a\n3,4,b\n".encode("utf-8-sig"))
    assert core.loading.data.read_rows(source)[0] == ["x", "y", "label"]
    assert core.loading.data.load_tabular(source, "label").feature_names == ["x", "y"]


def read_stream(core, source):
    return list(core.loading.streaming.ShardStream([source], ["x", "y"], "label", 2, ["a", "b"]))


@pytest.mark.parametrize(
    "read",
    [
        lambda core, source: core.loading.data.load_tabular(source, "label"),
        lambda core, source: core.loading.data.read_rows(source),
        read_stream,
    ],
    ids=["load_tabular", "read_rows", "stream"],
)
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"x,y,label\n1,2,a\n3,b\n", "line 3: 2 values, but the header has 3 columns"),
        (b"x,y,label\n1,2,a\n\n3,4,b,9\n", "line 4: 4 values, but the header has 3 columns"),
        (b"x,y,label\n1,2,a\n3,4,\xe0\n", "line 3: not UTF-8 text"),
        (b"x,y,label\n1,2,a\n\xe0,4,b\n", "line 3: not UTF-8 text"),
        (bytes(range(256)) * 4, "not a CSV file of UTF-8 text"),
        ("x,y,label\n1,2,a\n".encode("utf-16"), "not a CSV file of UTF-8 text"),
    ],
    ids=["missing-value", "extra-value", "latin-1-label", "latin-1-feature", "binary", "utf-16"],
)
def test_csv_lines_that_are_not_rows_of_utf8_text_are_refused_naming_the_line(core, tmp_path, read, content, message):
    source = tmp_path / "a.csv"
    source.write_bytes(content)
    with pytest.raises(core.loading.data.DataError, match=rf"a\.csv: {message}"):
        read(core, source)


@pytest.mark.parametrize(
    ("column", "message"),
    [
        (pa.array([1.0, None]), "row 2: column 'y' is empty or NaN"),
        (pa.array([1.0, float("nan")]), "row 2: column 'y' is nan"),
        (pa.array([1.0, float("inf")]), "row 2: column 'y' is inf"),
        (pa.array(["1", "two"]), r"row 2: column 'y' is non-numeric \('two'\)"),
        (pa.array([True, False]), r"column 'y' is not numeric \(Parquet type bool\)"),
    ],
)
def test_a_parquet_feature_that_is_not_a_finite_number_is_refused(core, tmp_path, column, message):
    pq.write_table(pa.table({"x": [1, 2], "y": column, "label": ["a", "b"]}), tmp_path / "a.parquet")
    with pytest.raises(core.loading.data.DataError, match=rf"a\.parquet: {message}"):
        core.loading.data.load_tabular(tmp_path / "a.parquet", "label")


def test_numbers_as_text_and_integers_are_features_too(core, tmp_path):
    columns = {"x": pa.array([" 1.5", "2"]), "y": pa.array([3, 4], pa.int64()), "label": pa.array([0, 1])}
    pq.write_table(pa.table(columns), tmp_path / "a.parquet")
    data = core.loading.data.load_tabular(tmp_path / "a.parquet", "label")
    assert data.features.tolist() == [[1.5, 3.0], [2.0, 4.0]] and data.classes == ["0", "1"]


def test_rows_of_many_blocks_are_read_whole_and_errors_count_rows_across_blocks(core, tmp_path, monkeypatch):
    monkeypatch.setattr(core.loading.csv_shards, "CSV_BLOCK_BYTES", 1024)  # about 100 rows a block
    lines = [f"{i},{i % 7},{'ab'[i % 2]}" for i in range(2000)]
    source = write_csv(tmp_path / "a.csv", "x,y,label\n" + "\n".join(lines) + "\n")
    data = core.loading.data.load_tabular(source, "label")
    assert data.features[:, 0].tolist() == list(range(2000)) and data.targets.tolist() == [i % 2 for i in range(2000)]
    lines[1500] = "1500,oops,a"
    write_csv(source, "x,y,label\n" + "\n".join(lines) + "\n")
    with pytest.raises(
        core.loading.data.DataError, match=r"row 1501 \(line 1502\): column 'y' is non-numeric \('oops'\)"
    ):
        core.loading.data.load_tabular(source, "label")


def test_regression_targets_are_float32_numbers(core, tmp_path):
    source = write_csv(tmp_path / "a.csv", "x,price\n1,10.5\n2,20\n")
    data = core.loading.data.load_regression(source, "price")
    assert data.targets.dtype == torch.float32 and data.targets.tolist() == [10.5, 20.0] and data.classes == []
    write_csv(source, "x,price\n1,10.5\n2,\n")
    with pytest.raises(core.loading.data.DataError, match=r"row 2 \(line 3\): column 'price' is empty or NaN"):
        core.loading.data.load_regression(source, "price")


def test_rows_and_samples_of_parquet_are_text(core, tmp_path):
    pq.write_table(POINTS, tmp_path / "a.parquet")
    header, rows = core.loading.data.read_rows(tmp_path / "a.parquet")
    assert header == ["x", "y", "label"] and rows[0] == {"x": "1.5", "y": "2", "label": "b"}
    assert core.loading.data.sample_rows(tmp_path / "a.parquet", 2, seed=1, columns=["label"]) == [
        {"label": rows[i]["label"]} for i in random.Random(1).sample(range(3), 2)
    ]


def test_samples_are_the_rows_a_seeded_sample_of_all_rows_picks(core, tmp_path):
    write_csv(tmp_path / "a.csv", "x,label\n" + "".join(f"{i},c{i}\n" for i in range(50)))
    write_csv(tmp_path / "b.csv", "x,label\n" + "".join(f"{i},c{i}\n" for i in range(50, 80)))
    _, rows = core.loading.data.read_rows(tmp_path)
    assert core.loading.data.sample_rows(tmp_path, 10, seed=7) == random.Random(7).sample(rows, 10)
    assert len(core.loading.data.sample_rows(tmp_path, 500)) == 80
