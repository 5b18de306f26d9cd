"""The training loop: it learns, is reproducible, checkpoints, resumes and tracks."""

import json

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


@pytest.fixture
def problem():
    """A linearly separable two-class problem."""
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(200, 2, generator=generator)
    targets = (features[:, 0] + features[:, 1] > 0).long()
    train = DataLoader(TensorDataset(features[:160], targets[:160]), batch_size=16)
    val = DataLoader(TensorDataset(features[160:], targets[160:]), batch_size=16)
    return train, val


def fit(core, problem, folder, epochs=20, **trainer):
    cfg = core.basics.config.RunConfig()
    cfg.trainer.max_epochs, cfg.trainer.progress, cfg.optimizer.lr = epochs, False, 0.1
    for key, value in trainer.items():
        setattr(cfg.trainer, key, value)
    paths = core.trainer.environment.RunPaths(folder, folder, folder / "checkpoints")
    core.trainer.training.seed_everything(0)
    model = nn.Linear(2, 2)
    return model, core.trainer.training.fit(model, nn.CrossEntropyLoss(), *problem, cfg, paths, "test")


def test_fit_learns_and_saves_weights_and_metrics(core, problem, tmp_path):
    model, result = fit(core, problem, tmp_path)
    assert result.metrics["val_accuracy"] >= 0.9
    assert json.loads((tmp_path / "metrics.json").read_text()) == result.metrics
    saved = torch.load(tmp_path / "model.pt", weights_only=True)
    assert torch.equal(saved["weight"], model.state_dict()["weight"])
    assert len(core.trainer.tracking.read_history(tmp_path)) == 20


def test_same_seed_gives_the_same_model(core, problem, tmp_path):
    first, _ = fit(core, problem, tmp_path / "a")
    second, _ = fit(core, problem, tmp_path / "b")
    assert torch.equal(first.weight, second.weight)


def test_training_resumes_from_the_last_checkpoint(core, problem, tmp_path):
    fit(core, problem, tmp_path, epochs=4, checkpoint_every=2)
    assert torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)["epoch"] == 4
    fit(core, problem, tmp_path, epochs=6, checkpoint_every=2)
    steps = [entry["step"] for entry in core.trainer.tracking.read_history(tmp_path)]
    assert steps == [1, 2, 3, 4, 5, 6]  # the second run went on from epoch 4


def test_unknown_optimizer_is_a_clear_error(core):
    settings = core.basics.config.OptimizerConfig(name="Adamm")
    with pytest.raises(core.trainer.training.ProjectError, match="not an optimizer"):
        core.trainer.training.make_optimizer(nn.Linear(1, 1).parameters(), settings)


def test_sagemaker_environment_decides_paths_data_and_overrides(core, tmp_path):
    environ = {
        "SM_MODEL_DIR": str(tmp_path / "model"),
        "SM_OUTPUT_DATA_DIR": str(tmp_path / "output"),
        "SM_CHANNEL_TRAIN": str(tmp_path / "train"),
        "SM_HPS": json.dumps({"trainer.max_epochs": 3, "optimizer.name": "SGD"}),
    }
    paths = core.trainer.environment.run_paths("any", environ)
    assert (paths.model_dir, paths.output_dir) == (tmp_path / "model", tmp_path / "output")
    assert core.trainer.environment.data_source("train", "data/samples", environ) == tmp_path / "train"
    assert core.trainer.environment.hyperparameter_overrides(environ) == ["optimizer.name=SGD", "trainer.max_epochs=3"]
    assert core.trainer.environment.data_source("train", "data/samples", {}).as_posix() == "data/samples"


def test_a_run_records_its_status_and_metrics_are_json_without_nan(core, problem, tmp_path):
    _, result = fit(core, problem, tmp_path, epochs=2)
    assert core.catalog.runs.status(tmp_path) == ("finished", "") and core.catalog.runs.is_finished(tmp_path)
    core.trainer.training.save_results(
        nn.Linear(2, 2), {"val_loss": float("nan"), "val_r2": float("-inf")}, result.paths
    )
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"val_loss": None, "val_r2": None}


def test_a_loss_that_is_not_a_number_stops_the_run_and_marks_it_failed(core, tmp_path):
    features = torch.full((32, 2), 3e38)  # finite, but logits beyond float32
    loader = DataLoader(TensorDataset(features, torch.arange(32) % 2), batch_size=8)
    with pytest.raises(core.trainer.training.TrainingError, match="epoch 1: the training loss is inf"):
        fit(core, (loader, loader), tmp_path)
    state, error = core.catalog.runs.status(tmp_path)
    assert state == "failed" and error.startswith("epoch 1: the training loss is inf")
    assert not core.catalog.runs.is_finished(tmp_path) and not (tmp_path / "model.pt").exists()


def test_an_unreadable_checkpoint_is_a_clear_error_that_leaves_the_run_as_it_was(core, problem, tmp_path):
    fit(core, problem, tmp_path, epochs=2)
    before = (tmp_path / "status.json").read_text()
    (tmp_path / "checkpoints" / "last.pt").write_bytes(b"cut short")
    with pytest.raises(
        core.catalog.checkpoints.CheckpointError, match=r"last.pt cannot be read .*; delete it to start over"
    ):
        fit(core, problem, tmp_path, epochs=4)
    assert (tmp_path / "status.json").read_text() == before


def test_an_interrupted_checkpoint_write_leaves_no_partial_file(core, tmp_path):
    class Unpicklable:
        def __reduce__(self):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        core.catalog.checkpoints.save(tmp_path / "last.pt", {"x": Unpicklable()})
    assert list(tmp_path.iterdir()) == []
