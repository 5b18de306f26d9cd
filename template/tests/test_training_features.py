"""What the training loop does from config: precision, accumulation, clipping, schedules, early
stopping, best weights, resume after a kill, and batches that are not (inputs, targets)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset


def data(batch_size=16, shuffle=False):
    """A linearly separable two-class problem: training and validation loaders."""
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(192, 2, generator=generator)
    targets = (features[:, 0] + features[:, 1] > 0).long()
    train = DataLoader(TensorDataset(features[:128], targets[:128]), batch_size=batch_size, shuffle=shuffle)
    return train, DataLoader(TensorDataset(features[128:], targets[128:]), batch_size=32)


def settings(core, epochs=5, lr=0.1, optimizer="SGD", **sections):
    cfg = core.basics.config.RunConfig()
    cfg.trainer.max_epochs, cfg.trainer.progress, cfg.trainer.checkpoint_every = epochs, False, 1
    cfg.optimizer.name, cfg.optimizer.lr = optimizer, lr
    for dotted, value in sections.items():
        section, key = dotted.split("__")
        setattr(getattr(cfg, section), key, value)
    return cfg


def network(dropout=0.0):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Dropout(dropout), nn.Linear(8, 2))


def fit(core, folder, cfg, loaders=None, model=None, **kwargs):
    paths = core.trainer.environment.RunPaths(folder, folder, folder / "checkpoints")
    model = model or network()
    result = core.trainer.training.fit(model, nn.CrossEntropyLoss(), *(loaders or data()), cfg, paths, "test", **kwargs)
    return model, result


def last_checkpoint(folder):
    return torch.load(folder / "checkpoints" / "last.pt", weights_only=True)


def test_bf16_mixed_precision_trains_on_cpu(core, tmp_path):
    _, result = fit(core, tmp_path, settings(core, epochs=8, trainer__precision="bf16-mixed"))
    assert result.metrics["val_accuracy"] >= 0.9
    assert all(p.dtype == torch.float32 for p in torch.load(tmp_path / "model.pt", weights_only=True).values())


def test_16_mixed_precision_scales_gradients(core, tmp_path):
    fit(core, tmp_path, settings(core, epochs=2, trainer__precision="16-mixed"))
    assert last_checkpoint(tmp_path)["scaler"]["scale"] > 1  # the gradient scaler was in use


def test_unknown_precision_is_refused_before_training(core, tmp_path):
    with pytest.raises(
        core.basics.errors.ConfigError, match=r"trainer.precision: '8' is not allowed; expected one of 32"
    ):
        fit(core, tmp_path, settings(core, trainer__precision="8"))
    assert not (tmp_path / "model.pt").exists()


def test_accumulated_gradients_make_the_large_batch_update(core, tmp_path):
    large, _ = fit(core, tmp_path / "a", settings(core, epochs=1), data(batch_size=32))
    accumulated, _ = fit(core, tmp_path / "b", settings(core, epochs=1, trainer__accumulate_grad_batches=4), data(8))
    small, _ = fit(core, tmp_path / "c", settings(core, epochs=1), data(batch_size=8))
    for a, b in zip(large.parameters(), accumulated.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    assert not all(torch.allclose(a, c, atol=1e-6) for a, c in zip(large.parameters(), small.parameters(), strict=True))


def test_gradient_norm_is_clipped(core, tmp_path):
    before = [p.detach().clone() for p in network().parameters()]
    one_batch = data(batch_size=128)
    model, _ = fit(core, tmp_path, settings(core, epochs=1, lr=1.0, trainer__gradient_clip_norm=0.01), one_batch)
    moved = torch.cat([(p.detach() - b).flatten() for p, b in zip(model.parameters(), before, strict=True)])
    assert moved.norm() == pytest.approx(0.01, rel=1e-3)  # SGD, lr 1: the step is the clipped gradient


@pytest.mark.parametrize(
    ("scheduler", "expected_lr"),
    [
        ({"name": "StepLR", "args": {"step_size": 1, "gamma": 0.5}}, 0.1 * 0.5**3),  # after each of 3 epochs
        ({"name": "StepLR", "args": {"step_size": 1, "gamma": 0.5}, "interval": "step"}, 0.1 * 0.5**24),  # 8 a epoch
        ({"name": "ReduceLROnPlateau", "args": {"patience": 0, "factor": 0.5}}, 0.1 * 0.5**2),  # flat after epoch 1
    ],
)
def test_scheduler_steps_per_epoch_or_per_step(core, tmp_path, scheduler, expected_lr):
    cfg = settings(core, epochs=3, lr=0.1)
    cfg.scheduler = core.basics.config.SchedulerConfig(**scheduler)
    if scheduler["name"] == "ReduceLROnPlateau":
        fit(
            core,
            tmp_path,
            cfg,
            goal=core.catalog.contract.Goal("val_constant", "max"),
            metrics={"constant": lambda o, t: 1.0},
        )
    else:
        fit(core, tmp_path, cfg)
    assert last_checkpoint(tmp_path)["optimizer"]["param_groups"][0]["lr"] == pytest.approx(expected_lr)


def test_unknown_scheduler_is_a_clear_error(core, tmp_path):
    cfg = settings(core)
    cfg.scheduler.name = "CosineAnnealingLRR"
    with pytest.raises(core.trainer.training.ProjectError, match=r"not a scheduler in torch\.optim\.lr_scheduler"):
        fit(core, tmp_path, cfg)


def test_early_stopping_stops_when_the_goal_stops_improving(core, tmp_path):
    cfg = settings(core, epochs=20, lr=0.0, trainer__early_stopping_patience=2)  # lr 0: nothing improves
    _, result = fit(core, tmp_path, cfg)
    assert (result.epochs, result.stopped_early, result.metrics["epoch"]) == (3, True, 1)
    assert [entry["step"] for entry in core.trainer.tracking.read_history(tmp_path)] == [1, 2, 3]


def test_the_best_epochs_weights_are_the_runs_model(core, tmp_path):
    scores = iter([0.2, 0.9, 0.5, 0.1])  # the goal metric peaks after epoch 2
    goal, metrics = core.catalog.contract.Goal("val_score", "max"), {"score": lambda o, t: next(scores)}
    _, result = fit(core, tmp_path / "run", settings(core, epochs=4), goal=goal, metrics=metrics)
    rising = iter([0.1, 0.2])
    after_two, _ = fit(
        core, tmp_path / "two", settings(core, epochs=2), goal=goal, metrics={"score": lambda o, t: next(rising)}
    )
    saved = torch.load(tmp_path / "run" / "model.pt", weights_only=True)
    assert all(torch.equal(saved[k], v) for k, v in after_two.state_dict().items())
    assert result.metrics["epoch"] == 2 and result.metrics["val_score"] == 0.9
    assert json.loads((tmp_path / "run" / "metrics.json").read_text()) == result.metrics
    assert last_checkpoint(tmp_path / "run")["epoch"] == 4  # the last checkpoint is kept as well


class Points(Dataset):
    """Items as dicts, as many data sets give them."""

    def __init__(self, loader):
        self.items = [{"x": x, "label": y} for xs, ys in loader for x, y in zip(xs, ys, strict=True)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


def test_a_step_hook_trains_on_dict_batches(core, tmp_path):
    train, val = data()
    loaders = DataLoader(Points(train), batch_size=16), DataLoader(Points(val), batch_size=16)
    _, result = fit(core, tmp_path, settings(core, epochs=8), loaders, step=lambda m, b: (m(b["x"]), b["label"]))
    assert result.metrics["val_accuracy"] >= 0.9


def test_batches_of_any_nesting_move_to_the_device(core):
    batch = {"a": (torch.ones(1), [torch.zeros(2)]), "b": "text"}
    moved = core.trainer.devices.move(batch, torch.device("meta"))
    assert moved["a"][0].device.type == moved["a"][1][0].device.type == "meta" and moved["b"] == "text"
    assert core.trainer.devices.choose("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(core.trainer.devices.DeviceError, match="no CUDA device"):
            core.trainer.devices.choose("cuda")


KILLED_RUN = """
import os, signal, sys
sys.path[:0] = [{src!r}, {tests!r}]
from test_training_features import data, fit, network, settings
from pathlib import Path
import importlib
core = importlib.import_module({package!r} + ".core")
for module in {modules!r}:
    importlib.import_module({package!r} + ".core." + module)
calls = 0
def loss(outputs, targets):
    global calls
    calls += 1
    if calls == 3 * (8 + 2) + 1:  # epochs have 8 training and 2 validation batches: epoch 4 begins
        os.kill(os.getpid(), signal.SIGKILL)
    return nn_loss(outputs, targets)
import torch.nn as nn
nn_loss = nn.CrossEntropyLoss()
cfg = settings(core, epochs=6)
paths = core.trainer.environment.RunPaths(Path({folder!r}), Path({folder!r}), Path({folder!r}) / "checkpoints")
core.trainer.training.fit(network(dropout=0.3), loss, *data(shuffle=True), cfg, paths, "test")
"""


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_uninterrupted_result(core, package, tmp_path):
    """Killed after epoch 3 (SIGKILL, no clean-up), resumed: the same weights as a run never stopped."""
    src, tests = str(core.trainer.training.__file__).rsplit(f"/{package}/", 1)[0], os.path.dirname(__file__)
    modules = ["basics.config", "catalog.contract", "trainer.environment", "trainer.training", "trainer.tracking"]
    script = KILLED_RUN.format(src=src, tests=tests, package=package, modules=modules, folder=str(tmp_path / "run"))
    killed = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    assert last_checkpoint(tmp_path / "run")["epoch"] == 3
    resumed, _ = fit(core, tmp_path / "run", settings(core, epochs=6), data(shuffle=True), network(dropout=0.3))
    whole, _ = fit(core, tmp_path / "whole", settings(core, epochs=6), data(shuffle=True), network(dropout=0.3))
    pairs = zip(resumed.state_dict().values(), whole.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    assert [entry["step"] for entry in core.trainer.tracking.read_history(tmp_path / "run")] == [1, 2, 3, 4, 5, 6]
