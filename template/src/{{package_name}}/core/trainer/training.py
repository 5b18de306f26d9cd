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
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from ..basics import config, tasks
from ..basics.errors import ProjectError
from ..basics.tasks import Metric
from ..catalog import checkpoints, contract, registry, runs
from . import devices, distributed, tracking
from .environment import RunPaths
from .optimization import Schedule, make_optimizer
from .stopping import GoalWatch

__all__ = ["Step", "TrainingError", "TrainingResult", "default_step", "fit", "make_optimizer", "seed_everything"]

# Turns a batch into the model's outputs and the targets they are scored against.
Step = Callable[[nn.Module, object], tuple[torch.Tensor, torch.Tensor]]
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

    `experiment` is the model's name: its contract gives the goal metric (best epoch, early
    stopping, ReduceLROnPlateau), the task's default `metrics` and, for batches that are not
    `(inputs, targets)`, its `step`. `artifacts` are files the model wrote to the run's model
    folder for serving. Under torchrun every rank trains on its shard of the data through
    DistributedDataParallel; only rank 0 tracks, checkpoints and saves.
    """
    declared = _contract(experiment)
    goal = goal or (declared.goal if declared else NEUTRAL_GOAL)
    metrics = _default_metrics(declared) if metrics is None else metrics
    trainer, main = run_config.trainer, distributed.is_main()
    config.validate(run_config)
    seed_everything(trainer.seed)
    loop = Loop(model, loss_fn, step or (declared and declared.step) or default_step, run_config, goal)
    watch = GoalWatch(goal.metric, goal.direction, trainer.early_stopping_patience, trainer.early_stopping_min_delta)
    last_checkpoint = paths.checkpoint_dir / checkpoints.LAST
    first_epoch = epoch = loop.resume(last_checkpoint, watch)  # an unreadable checkpoint leaves the run as it was
    with (
        runs.recording(paths.model_dir, last_checkpoint, enabled=main),  # running, then finished, failed or interrupted
        tracking.Tracker(experiment, paths.output_dir, enabled=main) as tracker,
        _progress(trainer.progress and main) as bar,
    ):
        if main:
            config.save(run_config, paths.model_dir / runs.CONFIG)
        if distributed.world_size() > 1:
            print(f"rank {distributed.rank()}/{distributed.world_size()} on {loop.device}", flush=True)
        tracker.log_params(config.to_dict(run_config))
        tracker.log_data(config.channel_sources(run_config.data))
        task = bar.add_task(experiment, total=trainer.max_epochs, completed=first_epoch, scores="")
        for epoch in range(first_epoch + 1, first_epoch if watch.should_stop else trainer.max_epochs + 1):
            if isinstance(train_loader.sampler, DistributedSampler):
                train_loader.sampler.set_epoch(epoch)
            scores = {"train_loss": _finite("training", distributed.mean(loop.train_epoch(train_loader)), epoch)}
            scores.update(loop.evaluate(val_loader, metrics))
            _finite("validation", scores["val_loss"], epoch)
            loop.schedule.after_epoch(_goal_value(scores, goal))
            if watch.update(scores[goal.metric], epoch, scores) and main:
                checkpoints.save(paths.checkpoint_dir / checkpoints.BEST, {"model": model.state_dict()})
            tracker.log_metrics(scores, step=epoch)
            bar.update(task, advance=1, scores=_format(scores))
            last = epoch == trainer.max_epochs or watch.should_stop
            if main and (last or (trainer.checkpoint_every and epoch % trainer.checkpoint_every == 0)):
                checkpoints.save(last_checkpoint, loop.state_dict(epoch, watch))
            if watch.should_stop:
                break
        best = {**watch.best_scores, "epoch": watch.best_epoch}
        if main:
            model.load_state_dict(checkpoints.load(paths.checkpoint_dir / checkpoints.BEST, loop.device)["model"])
            save_results(model, best, paths)
            tracker.log_best(best, step=epoch)
            tracker.log_model([paths.model_dir / name for name in dict.fromkeys([*runs.SERVED, *artifacts])])
    distributed.barrier()
    return TrainingResult(paths, best, epoch, watch.should_stop)


class Loop:
    """One run's moving parts: the network on its device, optimizer, schedule, precision, step."""

    def __init__(self, model: nn.Module, loss_fn: Callable, step: Step, run_config: config.RunConfig, goal):
        trainer = run_config.trainer
        self.device = devices.choose(trainer.device)
        self.model = model.to(self.device)
        self.loss_fn = loss_fn.to(self.device) if isinstance(loss_fn, nn.Module) else loss_fn
        self.network = self._distributed(self.model)
        self.step = step
        self.optimizer = make_optimizer(self.model.parameters(), run_config.optimizer)
        self.schedule = Schedule(self.optimizer, run_config.scheduler, goal.direction)
        self.precision = trainer.precision
        self.scaler = devices.grad_scaler(self.device, trainer.precision)
        self.accumulate = trainer.accumulate_grad_batches
        self.clip_norm = trainer.gradient_clip_norm

    def train_epoch(self, loader: DataLoader) -> float:
        """One pass over `loader`, an optimizer step every `accumulate` batches; the mean loss."""
        self.network.train()
        self.optimizer.zero_grad(set_to_none=True)
        total, rows, size = torch.zeros((), device=self.device), 0, _length(loader)
        for index, batch in enumerate(loader):
            start = index - index % self.accumulate
            end = start + self.accumulate if size is None else min(start + self.accumulate, size)
            with self._sync(index + 1 == end):
                with devices.autocast(self.device, self.precision):
                    outputs, targets = self.step(self.network, devices.move(batch, self.device))
                    loss = self.loss_fn(outputs, targets)
                self.scaler.scale(loss / (end - start)).backward()
            if index + 1 == end:
                self._optimizer_step()
            total += loss.detach().float() * len(targets)
            rows += len(targets)
        if size is None and rows and (index + 1) % self.accumulate:
            self._optimizer_step()  # the last, partial group of a stream of unknown length
        return total.item() / max(rows, 1)

    @torch.no_grad()
    def evaluate(self, loader: DataLoader, metrics: Mapping[str, Metric]) -> dict[str, float]:
        """Validation loss and metrics over all of `loader`."""
        self.model.eval()
        outputs, targets, total = [], [], 0.0
        for batch in loader:
            with devices.autocast(self.device, self.precision):
                output, target = self.step(self.model, devices.move(batch, self.device))
            total += self.loss_fn(output.float(), target).item() * len(target)
            outputs.append(output.float().cpu())
            targets.append(target.cpu())
        output, target = torch.cat(outputs), torch.cat(targets)
        scores = {"val_loss": total / max(len(target), 1)}
        scores.update({f"val_{name}": metric(output, target) for name, metric in metrics.items()})
        return scores

    def state_dict(self, epoch: int, watch: GoalWatch) -> dict:
        """Everything needed to go on after `epoch` exactly as an uninterrupted run would."""
        return {
            "epoch": epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict(),
            "watch": watch.state_dict(),
            "random": checkpoints.random_state(),
        }

    def resume(self, path: Path, watch: GoalWatch) -> int:
        """Load the checkpoint at `path` if there is one; the epoch it was taken after (else 0)."""
        state = checkpoints.load(path, self.device)
        if state is None:
            return 0
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state.get("scheduler", {}))
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        if "watch" in state:
            watch.load_state_dict(state["watch"])
        if "random" in state:
            checkpoints.restore_random_state(state["random"])
        return int(state["epoch"])

    def _optimizer_step(self) -> None:
        if self.clip_norm:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.schedule.after_step()

    def _sync(self, boundary: bool):
        """DDP averages gradients only on the batch that ends an accumulation group."""
        if boundary or not isinstance(self.network, DistributedDataParallel):
            return nullcontext()
        return self.network.no_sync()

    def _distributed(self, model: nn.Module) -> nn.Module:
        if distributed.world_size() <= 1:
            return model
        return DistributedDataParallel(model, device_ids=[self.device.index] if self.device.type == "cuda" else None)


def save_results(model: nn.Module, scores: dict[str, float], paths: RunPaths) -> None:
    """Write the run's weights and their validation scores (the config is saved at the start).

    In a SageMaker job the run's records (metrics, history, provenance) are copied from the
    output folder to the model folder too, so the job's model.tar.gz, fetched as a local run,
    can be listed and ranked like any other run.
    """
    paths.model_dir.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), paths.model_dir / runs.WEIGHTS)
    paths.output_dir.mkdir(parents=True, exist_ok=True)
    runs.write_json(paths.output_dir / runs.METRICS, scores)  # NaN (no JSON number) as null
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


def _length(loader: DataLoader) -> int | None:
    try:
        return len(loader)
    except TypeError:  # an iterable (streaming) dataset of unknown length
        return None


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
