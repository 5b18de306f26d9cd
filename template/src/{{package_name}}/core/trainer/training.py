"""The training loop every model uses: on any device and precision, seeded, checkpointed, tracked.

A model's `train.py` builds its network, loss and data loaders, then hands them to `fit`. The
config decides the rest: device and precision (torch.amp), gradient accumulation and clipping,
the learning-rate schedule, early stopping on the model's goal metric. `fit` keeps the last
checkpoint (every `trainer.checkpoint_every` epochs and at the end) and the best one, resumes
from the last when the run's checkpoint folder has one (a killed local run, or a SageMaker job
restarted on spot capacity), and saves the **best** epoch's weights and scores as the run's model.
The run's status (runs.STATUS) says whether it finished, failed (a loss that is not a number, say)
or was interrupted; only finished runs are picked for bundling and serving.
"""

from __future__ import annotations

import math
import random
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from ..basics import config, tasks
from ..basics.errors import ProjectError
from ..basics.tasks import Metric
from ..catalog import checkpoints, contract, records, registry, runs
from . import distributed, tracking
from .environment import RunPaths
from .loop import Loop, Step
from .optimization import make_optimizer
from .stopping import GoalWatch

__all__ = ["Step", "TrainingError", "TrainingResult", "default_step", "fit", "make_optimizer", "seed_everything"]

NEUTRAL_GOAL = contract.Goal("val_loss", "min")  # for networks that are not one of the project's models


class TrainingError(ProjectError):
    """Training that cannot go on: a loss that is not a number, a goal metric never computed."""


@dataclass
class TrainingResult:
    """Where a finished run's artifacts are and how its saved (best) weights scored."""

    paths: RunPaths
    metrics: dict[str, float]  # the best epoch's scores, and that epoch as `epoch`
    epochs: int = 0  # epochs trained in all (fewer than max_epochs when stopped early)
    stopped_early: bool = False


def seed_everything(seed: int) -> None:
    """Seed Python's and torch's random generators."""
    random.seed(seed)
    torch.manual_seed(seed)


def default_step(model: nn.Module, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of `(inputs, targets)`: the model's outputs for the inputs, and the targets."""
    inputs, targets = batch
    return model(inputs), targets


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
    goal: contract.Goal | None = None,
    step: Step | None = None,
) -> TrainingResult:
    """Train `model`, evaluating after every epoch; save the best epoch's weights and scores.

    `experiment` is the model's name: its contract gives the goal metric, the task's default `metrics`
    and its `step`; `artifacts` are files the model wrote for serving. Under torchrun every rank trains
    on its shard of the data (DistributedDataParallel); only rank 0 tracks, checkpoints and saves.
    """
    loop, metrics = _prepare(model, loss_fn, run_config, experiment, metrics, goal, step)
    trainer, main, goal = run_config.trainer, distributed.is_main(), loop.goal
    watch = GoalWatch(goal.metric, goal.direction, trainer.early_stopping_patience, trainer.early_stopping_min_delta)
    last_checkpoint = paths.checkpoint_dir / checkpoints.LAST
    first_epoch = epoch = loop.resume(last_checkpoint, watch)  # an unreadable checkpoint leaves the run as it was
    with (
        runs.recording(paths.model_dir, last_checkpoint, enabled=main),  # running, then finished, failed or interrupted
        tracking.Tracker(experiment, paths.output_dir, enabled=main) as tracker,
        _progress(trainer.progress and main) as bar,
    ):
        _start(run_config, paths, tracker, loop, main)
        task = bar.add_task(experiment, total=trainer.max_epochs, completed=first_epoch, scores="")
        for epoch in range(first_epoch + 1, first_epoch if watch.should_stop else trainer.max_epochs + 1):
            scores = _epoch(loop, watch, epoch, (train_loader, val_loader), metrics, paths, main)
            tracker.log_metrics(scores, step=epoch)
            bar.update(task, advance=1, scores=_format(scores))
            last = epoch == trainer.max_epochs or watch.should_stop
            if main and (last or (trainer.checkpoint_every and epoch % trainer.checkpoint_every == 0)):
                checkpoints.save(last_checkpoint, loop.state_dict(epoch, watch))
            if watch.should_stop:
                break
        best = {**watch.best_scores, "epoch": watch.best_epoch}
        if main:
            _finish(loop, best, paths, tracker, artifacts, epoch)
    distributed.barrier()
    return TrainingResult(paths, best, epoch, watch.should_stop)


def _prepare(
    model: nn.Module, loss_fn: nn.Module, run_config: config.RunConfig, experiment: str, metrics, goal, step
) -> tuple[Loop, Mapping[str, Metric]]:
    """Check the config, seed, and set up the loop with the goal, metrics and step the contract gives."""
    declared = _contract(experiment)
    goal = goal or (declared.goal if declared else NEUTRAL_GOAL)
    metrics = _default_metrics(declared) if metrics is None else metrics
    config.validate(run_config)
    seed_everything(run_config.trainer.seed)
    return Loop(model, loss_fn, step or (declared and declared.step) or default_step, run_config, goal), metrics


def _start(run_config: config.RunConfig, paths: RunPaths, tracker: tracking.Tracker, loop: Loop, main: bool) -> None:
    """Save the run's config (rank 0), say which rank trains where, and track the params and data."""
    if main:
        config.save(run_config, paths.model_dir / runs.CONFIG)
    if distributed.world_size() > 1:
        print(f"rank {distributed.rank()}/{distributed.world_size()} on {loop.device}", flush=True)
    tracker.log_params(config.to_dict(run_config))
    tracker.log_data(config.channel_sources(run_config.data))


def _epoch(
    loop: Loop, watch: GoalWatch, epoch: int, loaders: tuple, metrics: Mapping[str, Metric], paths: RunPaths, main: bool
) -> dict[str, float]:
    """Train one epoch, evaluate, step the schedule and the goal watch; keep the best weights. Its scores."""
    train_loader, val_loader = loaders
    if isinstance(train_loader.sampler, DistributedSampler):
        train_loader.sampler.set_epoch(epoch)
    scores = {"train_loss": _finite("training", distributed.mean(loop.train_epoch(train_loader)), epoch)}
    scores.update(loop.evaluate(val_loader, metrics))
    _finite("validation", scores["val_loss"], epoch)
    loop.schedule.after_epoch(_goal_value(scores, loop.goal))
    if watch.update(scores[loop.goal.metric], epoch, scores) and main:
        checkpoints.save(paths.checkpoint_dir / checkpoints.BEST, {"model": loop.model.state_dict()})
    return scores


def _finish(loop: Loop, best: dict, paths: RunPaths, tracker: tracking.Tracker, artifacts: Sequence[str], epoch: int):
    """Load the best epoch's weights, save them as the run's model and track them."""
    loop.model.load_state_dict(checkpoints.load(paths.checkpoint_dir / checkpoints.BEST, loop.device)["model"])
    save_results(loop.model, best, paths)
    tracker.log_best(best, step=epoch)
    tracker.log_model([paths.model_dir / name for name in dict.fromkeys([*runs.SERVED, *artifacts])])


def save_results(model: nn.Module, scores: dict[str, float], paths: RunPaths) -> None:
    """Write the run's weights and their validation scores (the config is saved at the start).

    In a SageMaker job the run's records (metrics, history, provenance) are copied from the
    output folder to the model folder too, so the job's model.tar.gz, fetched as a local run,
    can be listed and ranked like any other run.
    """
    paths.model_dir.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), paths.model_dir / runs.WEIGHTS)
    paths.output_dir.mkdir(parents=True, exist_ok=True)
    records.write_json(paths.output_dir / runs.METRICS, scores)  # NaN (no JSON number) as null
    if paths.output_dir.resolve() != paths.model_dir.resolve():
        for name in (runs.METRICS, tracking.HISTORY, runs.PROVENANCE):
            if (paths.output_dir / name).is_file():
                shutil.copyfile(paths.output_dir / name, paths.model_dir / name)


def _contract(experiment: str) -> contract.Contract | None:
    return contract.of(experiment) if experiment in registry.names() else None


def _default_metrics(declared: contract.Contract | None) -> Mapping[str, Metric]:
    return tasks.get(declared.task).metrics if declared else tasks.CLASSIFICATION.metrics


def _goal_value(scores: dict[str, float], goal: contract.Goal) -> float:
    if goal.metric not in scores:
        raise TrainingError(f"the goal metric '{goal.metric}' is not among the epoch's scores {sorted(scores)}")
    return scores[goal.metric]


def _finite(kind: str, loss: float, epoch: int) -> float:
    if not math.isfinite(loss):
        raise TrainingError(
            f"epoch {epoch}: the {kind} loss is {loss}; look for NaN or infinite values in the data, "
            "or lower optimizer.lr"
        )
    return loss


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
