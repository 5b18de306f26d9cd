"""Training on this machine, as `train` starts it: a new run, or one resumed from its last checkpoint."""

from __future__ import annotations

from ..catalog import registry, runs
from . import environment


def new_run(model: str, overrides: list[str]) -> object:
    """A new run of MODEL (its train.py's `main`); a run folder an error leaves empty is removed."""
    main = registry.module(model, "train").main
    with runs.no_empty_runs(model):
        return main(overrides)


def resume(model: str, run_id: str, overrides: list[str]) -> object:
    """Train on in run `run_id` with the config it started with (plus `overrides`, e.g. more epochs)."""
    run_dir = runs.resumable_run(model, run_id)
    with environment.resuming(run_dir):
        return registry.module(model, "train").main([*runs.resume_overrides(run_dir), *overrides])
