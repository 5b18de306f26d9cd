"""Data: CSV files and folders to tensors, seeded splits, loaders and samples."""

import pytest
import torch


def test_loads_a_csv_file(core, tmp_path):
    (tmp_path / "a.csv").write_text("x,y,label\n1,2,b\n3,4,a\n5,6,b\n")
    data = core.loading.data.load_tabular(tmp_path / "a.csv", "label")
    assert data.features.tolist() == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    assert data.features.dtype == torch.float32
    assert (data.classes, data.feature_names, data.targets.tolist()) == (["a", "b"], ["x", "y"], [1, 0, 1])


def test_a_folder_of_csv_files_is_one_data_set(core, tmp_path):
    (tmp_path / "a.csv").write_text("x,y,label\n1,2,a\n3,4,b\n")
    (tmp_path / "b.csv").write_text("x,y,label\n5,6,a\n")
    data = core.loading.data.load_tabular(tmp_path, "label", features=["y"])
    assert data.features.tolist() == [[2.0], [4.0], [6.0]]
    assert data.targets.tolist() == [0, 1, 0]


@pytest.mark.parametrize(
    ("files", "target", "message"),
    [
        ({"a.csv": "x,label\n1,a\n"}, "colour", "missing column"),
        ({"a.csv": "x,y\n1,a\n"}, "x", "non-numeric"),
        ({"a.csv": "x,y\n"}, "y", "no data rows"),
        ({"a.csv": "x,y\n1,a\n", "b.csv": "y,x\na,1\n"}, "y", "header differs"),
        ({"a.txt": "x,y\n1,a\n"}, "y", r"no data files \(\.csv"),
    ],
)
def test_bad_data_is_a_clear_error(core, tmp_path, files, target, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(core.loading.data.DataError, match=message):
        core.loading.data.load_tabular(tmp_path, target)


def test_missing_data_is_a_clear_error(core, tmp_path):
    with pytest.raises(core.loading.data.DataError, match="data not found"):
        core.loading.data.load_tabular(tmp_path / "absent.csv", "y")


def test_unknown_label_is_refused_when_classes_are_given(core, tmp_path):
    (tmp_path / "a.csv").write_text("x,y\n1,a\n2,c\n")
    with pytest.raises(core.loading.data.DataError, match="not among the classes"):
        core.loading.data.load_tabular(tmp_path, "y", classes=["a", "b"])


def test_split_is_seeded_disjoint_and_complete(core, workdir):
    data = core.loading.data.load_tabular(workdir / "data/samples/probe/points.csv", "side")
    train, val = core.loading.batching.split(data, 0.2, seed=1)
    again, _ = core.loading.batching.split(data, 0.2, seed=1)
    other, _ = core.loading.batching.split(data, 0.2, seed=2)
    assert (len(train), len(val)) == (96, 24)
    assert torch.equal(train.tensors[0], again.tensors[0])
    assert not torch.equal(train.tensors[0], other.tensors[0])
    rows = {tuple(r) for r in torch.cat([train.tensors[0], val.tensors[0]]).tolist()}
    assert rows == {tuple(r) for r in data.features.tolist()}


def test_samples_are_seeded_rows(core, workdir):
    rows = core.loading.data.sample_rows(workdir / "data/samples/probe", 5, seed=4, columns=["side"])
    assert rows == core.loading.data.sample_rows(workdir / "data/samples/probe", 5, seed=4, columns=["side"])
    assert len(rows) == 5 and set(rows[0]) == {"side"}


def test_a_channel_takes_files_of_any_type_at_any_depth(core, tmp_path):
    for name in ("cats/1.png", "dogs/2.jpg", "labels.csv", ".env", ".cache/x"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert list(core.loading.data.channel_files(tmp_path)) == ["cats/1.png", "dogs/2.jpg", "labels.csv"]
    assert list(core.loading.data.channel_files(tmp_path / "labels.csv")) == ["labels.csv"]
    with pytest.raises(core.loading.data.DataError, match="data not found"):
        core.loading.data.channel_files(tmp_path / "absent")


def test_files_per_class_folder_are_labelled_by_folder(core, tmp_path):
    for name in ("cats/1.png", "dogs/2.PNG", "dogs/notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    files, labels = core.loading.data.labelled_files(tmp_path, (".png",))
    assert [f.name for f in files] == ["1.png", "2.PNG"] and labels == ["cats", "dogs"]
    with pytest.raises(core.loading.data.DataError, match=r"no \.jpg files"):
        core.loading.data.labelled_files(tmp_path, (".jpg",))


def test_a_validation_source_is_held_out_instead_of_a_split(core, tmp_path):
    (tmp_path / "train.csv").write_text("x,y,label\n1,2,a\n3,4,b\n5,6,a\n")
    (tmp_path / "val.csv").write_text("y,x,label\n0,9,b\n")  # its own column order
    settings = core.basics.config.DataConfig(
        path=str(tmp_path / "train.csv"), target="label", validation=str(tmp_path / "val.csv")
    )
    dataset = core.loading.data.load_tabular(tmp_path / "train.csv", "label")
    train, val = core.loading.batching.held_out(dataset, settings, seed=0)
    assert len(train) == 3 and val.tensors[0].tolist() == [[9.0, 0.0]] and val.tensors[1].tolist() == [1]
    settings.validation = None
    assert [len(part) for part in core.loading.batching.held_out(dataset, settings, seed=0)] == [2, 1]
    assert [t.tolist() for t in core.loading.batching.train_and_validation(3, 2, 0.5, seed=0)] == [[0, 1, 2], [3, 4]]


def test_a_jobs_channels_replace_the_configs_sources(core):
    settings = core.basics.config.DataConfig(path="data/train.csv", validation="data/val.csv")
    environ = {"SM_CHANNEL_TRAIN": "/opt/ml/input/data/train", "SM_CHANNEL_VALIDATION": "/opt/ml/input/data/validation"}
    core.trainer.environment.use_channels(settings, environ)
    assert (settings.path, settings.validation, settings.test) == (
        "/opt/ml/input/data/train",
        "/opt/ml/input/data/validation",
        None,
    )
    assert core.basics.config.channel_sources(settings) == {"train": settings.path, "validation": settings.validation}


def test_a_row_of_a_folder_of_shards_is_named_by_its_file_and_row(core, tmp_path):
    (tmp_path / "a.csv").write_text("x,label\n1,a\n2,b\n")
    (tmp_path / "b.csv").write_text("x,label\n3,a\n")
    assert core.loading.data.row_origin(tmp_path, 1) == f"{tmp_path / 'a.csv'}: row 2 (line 3)"
    assert core.loading.data.row_origin(tmp_path, 2) == f"{tmp_path / 'b.csv'}: row 1 (line 2)"
