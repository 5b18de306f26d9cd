"""Data: CSV files and folders to tensors, seeded splits, loaders and samples."""

import pytest
import torch


def test_loads_the_sample_data(core, workdir):
    data = core.data.load_tabular(workdir / "data/samples/iris.csv", "species")
    assert data.features.shape == (150, 4) and data.features.dtype == torch.float32
    assert data.classes == ["setosa", "versicolor", "virginica"]
    assert data.feature_names == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert torch.bincount(data.targets).tolist() == [50, 50, 50]


def test_a_folder_of_csv_files_is_one_data_set(core, tmp_path):
    (tmp_path / "a.csv").write_text("x,y,label\n1,2,a\n3,4,b\n")
    (tmp_path / "b.csv").write_text("x,y,label\n5,6,a\n")
    data = core.data.load_tabular(tmp_path, "label", features=["y"])
    assert data.features.tolist() == [[2.0], [4.0], [6.0]]
    assert data.targets.tolist() == [0, 1, 0]


@pytest.mark.parametrize(
    ("files", "target", "message"),
    [
        ({"a.csv": "x,label\n1,a\n"}, "species", "missing column"),
        ({"a.csv": "x,y\n1,a\n"}, "x", "non-numeric"),
        ({"a.csv": "x,y\n"}, "y", "no data rows"),
        ({"a.csv": "x,y\n1,a\n", "b.csv": "y,x\na,1\n"}, "y", "header differs"),
        ({"a.txt": "x,y\n1,a\n"}, "y", "no .csv files"),
    ],
)
def test_bad_data_is_a_clear_error(core, tmp_path, files, target, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(core.data.DataError, match=message):
        core.data.load_tabular(tmp_path, target)


def test_missing_data_is_a_clear_error(core, tmp_path):
    with pytest.raises(core.data.DataError, match="data not found"):
        core.data.load_tabular(tmp_path / "absent.csv", "y")


def test_unknown_label_is_refused_when_classes_are_given(core, tmp_path):
    (tmp_path / "a.csv").write_text("x,y\n1,a\n2,c\n")
    with pytest.raises(core.data.DataError, match="not among the classes"):
        core.data.load_tabular(tmp_path, "y", classes=["a", "b"])


def test_split_is_seeded_disjoint_and_complete(core, workdir):
    data = core.data.load_tabular(workdir / "data/samples/iris.csv", "species")
    train, val = core.data.split(data, 0.2, seed=1)
    again, _ = core.data.split(data, 0.2, seed=1)
    other, _ = core.data.split(data, 0.2, seed=2)
    assert (len(train), len(val)) == (120, 30)
    assert torch.equal(train.tensors[0], again.tensors[0])
    assert not torch.equal(train.tensors[0], other.tensors[0])
    rows = {tuple(r) for r in torch.cat([train.tensors[0], val.tensors[0]]).tolist()}
    assert rows == {tuple(r) for r in data.features.tolist()}


def test_samples_are_seeded_rows(core, workdir):
    rows = core.data.sample_rows(workdir / "data/samples", 5, seed=4, columns=["species"])
    assert rows == core.data.sample_rows(workdir / "data/samples", 5, seed=4, columns=["species"])
    assert len(rows) == 5 and set(rows[0]) == {"species"}
