"""The training loop every model uses: seeded, checkpointed, tracked, with a progress bar.

A model's `train.py` builds its network, loss and data loaders, then hands them to `fit`.
`fit` resumes from the last checkpoint in `paths.checkpoint_dir` when there is one (so a
SageMaker job restarted on spot capacity carries on), and writes the trained weights and final
metrics to the run's folders.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from . import config, distributed, runs, tasks, tracking
from .environment import RunPaths
from .errors import ProjectError
from .tasks import Metric

CHECKPOINT = "last.pt"


@dataclass
class TrainingResult:
    """Where a finished run's artifacts are and how it scored on the validation data."""

    paths: RunPaths
    metrics: dict[str, float]


def seed_everything(seed: int) -> None:
    """Seed Python's and torch's random generators."""
    random.seed(seed)
    torch.manual_seed(seed)


def make_optimizer(params, settings: config.OptimizerConfig) -> torch.optim.Optimizer:
    """The `torch.optim` optimizer named in the config."""
    optimizer_class = getattr(torch.optim, settings.name, None)
    if not (isinstance(optimizer_class, type) and issubclass(optimizer_class, torch.optim.Optimizer)):
        raise ProjectError(f"optimizer.name: '{settings.name}' is not an optimizer in torch.optim")
    return optimizer_class(params, lr=settings.lr, weight_decay=settings.weight_decay)


def fit(
    model: nn.Module,
    loss_fn: nn.Module,
    train_loader: DataLoader,
    val_loader: DataLoader,
    run_config: config.RunConfig,
    paths: RunPaths,
    experiment: str,
    metrics: Mapping[str, Metric] | None = None,
    artifacts: Sequence[str] = (),
) -> TrainingResult:
    """Train `model`, evaluating after every epoch; save weights and metrics when done.

    `metrics` are computed on the validation data each epoch (default: a classifier's accuracy);
    `artifacts` are the files the model wrote to the run's model folder for serving, tracked with
    the weights. Under torchrun every rank trains on its shard of the data through DistributedDataParallel;
    only rank 0 tracks, checkpoints and saves.
    """
    trainer, metrics = run_config.trainer, tasks.CLASSIFICATION.metrics if metrics is None else metrics
    seed_everything(trainer.seed)
    main = distributed.is_main()
    optimizer = make_optimizer(model.parameters(), run_config.optimizer)
    first_epoch = restore_checkpoint(paths.checkpoint_dir, model, optimizer)
    network = DistributedDataParallel(model) if distributed.world_size() > 1 else model
    scores: dict[str, float] = {}
    if main:
        config.save(run_config, paths.model_dir / runs.CONFIG)
    if distributed.world_size() > 1:
        print(f"rank {distributed.rank()}/{distributed.world_size()}: {len(train_loader.sampler)} rows", flush=True)
    tracker = tracking.Tracker(experiment, paths.output_dir, enabled=main)
    with tracker, _progress(trainer.progress and main) as bar:
        tracker.log_params(config.to_dict(run_config))
        task = bar.add_task(experiment, total=trainer.max_epochs, completed=first_epoch, scores="")
        for epoch in range(first_epoch + 1, trainer.max_epochs + 1):
            if isinstance(train_loader.sampler, DistributedSampler):
                train_loader.sampler.set_epoch(epoch)
            train_loss = distributed.mean(train_epoch(network, loss_fn, train_loader, optimizer))
            scores = {"train_loss": train_loss, **evaluate(model, loss_fn, val_loader, metrics)}
            tracker.log_metrics(scores, step=epoch)
            bar.update(task, advance=1, scores=_format(scores))
            if main and trainer.checkpoint_every and epoch % trainer.checkpoint_every == 0:
                save_checkpoint(paths.checkpoint_dir, model, optimizer, epoch)
        if main:
            save_results(model, scores, paths)
            tracker.log_model([paths.model_dir / name for name in dict.fromkeys([*runs.SERVED, *artifacts])])
    distributed.barrier()
    return TrainingResult(paths, scores)


def train_epoch(model: nn.Module, loss_fn: nn.Module, loader: DataLoader, optimizer) -> float:
    """One pass over `loader`; returns the mean training loss."""
    model.train()
    total, rows = 0.0, 0
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(targets)
        rows += len(targets)
    return total / max(rows, 1)


@torch.no_grad()
def evaluate(
    model: nn.Module, loss_fn: nn.Module, loader: DataLoader, metrics: Mapping[str, Metric]
) -> dict[str, float]:
    """Validation loss and metrics over all of `loader`."""
    model.eval()
    batches = [(model(inputs), targets) for inputs, targets in loader]
    logits = torch.cat([b[0] for b in batches])
    targets = torch.cat([b[1] for b in batches])
    scores = {"val_loss": loss_fn(logits, targets).item()}
    scores.update({f"val_{name}": metric(logits, targets) for name, metric in metrics.items()})
    return scores


def save_checkpoint(folder: Path, model: nn.Module, optimizer, epoch: int) -> None:
    """Write resumable training state (atomically, so a killed job never leaves half a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{CHECKPOINT}.partial"
    torch.save({"epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict()}, partial)
    partial.replace(folder / CHECKPOINT)


def restore_checkpoint(folder: Path, model: nn.Module, optimizer) -> int:
    """Load the last checkpoint in `folder` if any; returns the epoch it was taken after."""
    path = folder / CHECKPOINT
    if not path.is_file():
        return 0
    state = torch.load(path, weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return int(state["epoch"])


def save_results(model: nn.Module, scores: dict[str, float], paths: RunPaths) -> None:
    """Write the trained weights and the final validation metrics (the config is saved at the start).

    In a SageMaker job the run's records (metrics, history, provenance) are copied from the
    output folder to the model folder too, so the job's model.tar.gz, fetched as a local run,
    can be listed and ranked like any other run.
    """
    paths.model_dir.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), paths.model_dir / runs.WEIGHTS)
    paths.output_dir.mkdir(parents=True, exist_ok=True)
    (paths.output_dir / runs.METRICS).write_text(json.dumps(scores, indent=2) + "\n")
    if paths.output_dir.resolve() != paths.model_dir.resolve():
        for name in (runs.METRICS, tracking.HISTORY, runs.PROVENANCE):
            if (paths.output_dir / name).is_file():
                shutil.copyfile(paths.output_dir / name, paths.model_dir / name)


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("epoch {task.completed}/{task.total}"),
        TextColumn("{task.fields[scores]}"),
        TimeElapsedColumn(),
        disable=not enabled,
    )


def _format(scores: dict[str, float]) -> str:
    return " ".join(f"{name}={value:.4f}" for name, value in scores.items())
