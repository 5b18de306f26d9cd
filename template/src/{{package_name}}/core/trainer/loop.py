"""One run's moving parts: the network on its device, its optimizer, schedule and precision, and
the training and evaluation passes over its loaders, with the state a checkpoint keeps."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import nullcontext
from pathlib import Path

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from ..basics import config
from ..basics.tasks import Metric
from ..catalog import checkpoints
from . import devices, distributed
from .optimization import Schedule, make_optimizer
from .stopping import GoalWatch

# Turns a batch into the model's outputs and the targets they are scored against.
Step = Callable[[nn.Module, object], tuple[torch.Tensor, torch.Tensor]]


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
        self.goal = goal
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


def _length(loader: DataLoader) -> int | None:
    try:
        return len(loader)
    except TypeError:  # an iterable (streaming) dataset of unknown length
        return None
