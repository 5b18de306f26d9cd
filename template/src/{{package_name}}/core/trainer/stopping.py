"""Watching the goal metric: which epoch was best, and when to stop early.

The model's contract names its goal metric and direction; `GoalWatch` compares every epoch's
value with the best so far. An epoch counts as better only by more than `min_delta`; after
`patience` epochs without a better one, training stops.
"""

from __future__ import annotations

import math


class GoalWatch:
    """The best value of one metric so far, its epoch, and the epochs since."""

    def __init__(self, metric: str, direction: str, patience: int | None = None, min_delta: float = 0.0):
        self.metric, self.direction = metric, direction
        self.patience, self.min_delta = patience, abs(min_delta)
        self.best: float | None = None
        self.best_epoch = 0
        self.best_scores: dict[str, float] = {}  # every score of the best epoch
        self.epochs_since_best = 0

    def update(self, value: float, epoch: int, scores: dict[str, float] | None = None) -> bool:
        """Record `epoch`'s value (and its other `scores`); whether it is the best so far."""
        if self._better(value):
            self.best, self.best_epoch, self.epochs_since_best = value, epoch, 0
            self.best_scores = dict(scores or {self.metric: value})
            return True
        self.epochs_since_best += 1
        return False

    @property
    def should_stop(self) -> bool:
        """Whether `patience` epochs went by without a better value."""
        return self.patience is not None and self.epochs_since_best >= self.patience

    def state_dict(self) -> dict:
        return {name: getattr(self, name) for name in ("best", "best_epoch", "best_scores", "epochs_since_best")}

    def load_state_dict(self, state: dict) -> None:
        for name, value in state.items():
            setattr(self, name, value)

    def _better(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.best is None:
            return True
        change = self.best - value if self.direction == "min" else value - self.best
        return change > self.min_delta
