"""The optimizer and the learning-rate schedule a run's config names, from torch itself.

`optimizer.name` is any class in `torch.optim`; `scheduler.name` any class in
`torch.optim.lr_scheduler`, built with `scheduler.args` and stepped after every epoch or every
optimizer step (`scheduler.interval`). ReduceLROnPlateau is stepped with the model's goal
metric, in the goal's direction.
"""

from __future__ import annotations

import torch
from torch.optim import lr_scheduler

from ..basics import config
from ..basics.errors import ProjectError

INTERVALS = ("epoch", "step")


def make_optimizer(params, settings: config.OptimizerConfig) -> torch.optim.Optimizer:
    """The `torch.optim` optimizer named in the config."""
    optimizer_class = getattr(torch.optim, settings.name, None)
    if not (isinstance(optimizer_class, type) and issubclass(optimizer_class, torch.optim.Optimizer)):
        raise ProjectError(f"optimizer.name: '{settings.name}' is not an optimizer in torch.optim")
    return optimizer_class(params, lr=settings.lr, weight_decay=settings.weight_decay)


class Schedule:
    """A learning-rate scheduler (or none), stepped when its interval says."""

    def __init__(self, optimizer: torch.optim.Optimizer, settings: config.SchedulerConfig, goal_direction: str):
        if settings.interval not in INTERVALS:
            raise ProjectError(f"scheduler.interval: '{settings.interval}' is not one of {', '.join(INTERVALS)}")
        self.interval = settings.interval
        self.scheduler = _build(optimizer, settings, goal_direction) if settings.name else None
        self.watches_metric = isinstance(self.scheduler, lr_scheduler.ReduceLROnPlateau)

    def after_step(self) -> None:
        """Called after every optimizer step."""
        if self.scheduler and self.interval == "step" and not self.watches_metric:
            self.scheduler.step()

    def after_epoch(self, goal_value: float | None) -> None:
        """Called after every epoch's evaluation, with the goal metric's value."""
        if self.scheduler is None:
            return
        if self.watches_metric:
            self.scheduler.step(goal_value)
        elif self.interval == "epoch":
            self.scheduler.step()

    def state_dict(self) -> dict:
        return self.scheduler.state_dict() if self.scheduler else {}

    def load_state_dict(self, state: dict) -> None:
        if self.scheduler and state:
            self.scheduler.load_state_dict(state)


def _build(optimizer, settings: config.SchedulerConfig, goal_direction: str) -> lr_scheduler.LRScheduler:
    scheduler_class = getattr(lr_scheduler, settings.name, None)
    if not (isinstance(scheduler_class, type) and hasattr(scheduler_class, "step")) or settings.name.startswith("_"):
        raise ProjectError(f"scheduler.name: '{settings.name}' is not a scheduler in torch.optim.lr_scheduler")
    args = dict(settings.args)
    if scheduler_class is lr_scheduler.ReduceLROnPlateau:
        args.setdefault("mode", goal_direction)
    try:
        return scheduler_class(optimizer, **args)
    except (TypeError, ValueError) as error:
        raise ProjectError(f"scheduler {settings.name} with args {args}: {error}") from error
