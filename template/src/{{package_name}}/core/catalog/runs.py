"""Local run folders: `runs/<model>/<run-id>/` holding weights, resolved config, metrics and status.

A run records its status in `status.json`: running, then finished, failed (with the error that
ended it) or interrupted (Ctrl-C, SIGTERM). Only finished runs are ever picked: `find_run`,
`list_runs`, and `best_run` and `ranked` (core/catalog/run_summaries.py). A run without a status
file (fetched from a SageMaker job, or written before runs recorded one) counts as finished when
it has weights.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import yaml

from ..basics import config, project
from ..basics.errors import Interrupted, ProjectError, one_line
from .checkpoints import LAST
from .records import read_json, write_json

WEIGHTS = "model.pt"
CONFIG = "config.yaml"
METRICS = "metrics.json"
PROVENANCE = "run.json"  # written by core/trainer/tracking.py
STATUS = "status.json"  # {"status": ..., "error": ...}, written by `recording`
RUNNING, FINISHED, FAILED, INTERRUPTED = "running", "finished", "failed", "interrupted"
INCOMPLETE = "incomplete"  # no status file and no weights
SERVED = (WEIGHTS, CONFIG)  # what serving needs from every run, besides the artifacts its contract lists


class RunError(ProjectError):
    """A run that does not exist or is incomplete."""


def runs_root() -> Path:
    """The folder all runs go to, relative to the working directory."""
    return Path(project.settings().RUNS_DIR)


def new_run_dir(model: str) -> Path:
    """Create a fresh run folder; run ids sort by start time."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    path = runs_root() / model / f"{stamp}-{secrets.token_hex(3)}"
    path.mkdir(parents=True)
    return path


def list_runs(model: str) -> list[Path]:
    """The model's finished runs, oldest first."""
    return [path for path in every_run(model) if is_finished(path)]


def every_run(model: str) -> list[Path]:
    """Every run folder of the model, whatever its status, oldest first."""
    folder = runs_root() / model
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


@contextmanager
def no_empty_runs(model: str) -> Iterator[None]:
    """Inside the block, a new run folder of `model` that an error leaves without files is removed
    (and the runs folders above it, if the block made them and they are left empty)."""
    before = set(every_run(model))
    made = [folder for folder in (runs_root(), runs_root() / model) if not folder.exists()]
    try:
        yield
    except BaseException:
        for path in set(every_run(model)) - before:
            if not any(item.is_file() for item in path.rglob("*")):
                shutil.rmtree(path, ignore_errors=True)
        for folder in reversed(made):
            with suppress(OSError):  # not empty
                folder.rmdir()
        raise


def status(run_dir: Path) -> tuple[str, str]:
    """A run's status and the error that ended it ("" if none).

    A run still marked running whose process is gone was killed: it counts as interrupted.
    """
    record = read_json(run_dir / STATUS)
    state = record.get("status")
    if state is None:
        return (FINISHED if (run_dir / WEIGHTS).is_file() else INCOMPLETE), ""
    if state == RUNNING and not _alive(record.get("pid")):
        return INTERRUPTED, "its process ended without a word (killed?)"
    return str(state), str(record.get("error") or "")


def is_finished(run_dir: Path) -> bool:
    """Whether the run finished: it has weights and did not fail or stop since."""
    return (run_dir / WEIGHTS).is_file() and status(run_dir)[0] == FINISHED


def mark(run_dir: Path, state: str, error: str = "") -> None:
    """Record the run's status (and the one-line error that ended it)."""
    write_json(run_dir / STATUS, {"status": state, "pid": os.getpid(), **({"error": error} if error else {})})


@contextmanager
def recording(run_dir: Path, checkpoint: Path, enabled: bool = True) -> Iterator[None]:
    """The run is marked running inside the block; then finished, failed or interrupted (with why).

    An interruption (Ctrl-C, or SIGTERM turned into one) comes out as `Interrupted`, saying whether
    the run can go on from `checkpoint`.
    """
    if not enabled:
        yield
        return
    mark(run_dir, RUNNING)
    try:
        yield
    except KeyboardInterrupt as error:
        number = getattr(error, "signal", signal.SIGINT)
        mark(run_dir, INTERRUPTED, f"interrupted by {signal.Signals(number).name}")
        after = f"go on with `train --resume {run_dir.name}`" if checkpoint.is_file() else "it has no checkpoint yet"
        raise Interrupted(f"run {run_dir} interrupted by {signal.Signals(number).name}; {after}", number) from None
    except BaseException as error:
        mark(run_dir, FAILED, one_line(error))
        raise
    mark(run_dir, FINISHED)


def resumable_run(model: str, run_id: str) -> Path:
    """The run `run_id` of `model`, if it can be resumed: it has a config and a last checkpoint, and is not running."""
    path = runs_root() / model / run_id
    if "/" in run_id or run_id.startswith(".") or not (path / CONFIG).is_file():
        raise RunError(f"no run '{run_id}' of model '{model}' to resume (runs are in {runs_root() / model})")
    if not (path / "checkpoints" / LAST).is_file():
        raise RunError(f"run '{run_id}' has no checkpoint to resume from (trainer.checkpoint_every was not reached)")
    if status(path)[0] == RUNNING:
        raise RunError(f"run '{run_id}' is still running (process {read_json(path / STATUS).get('pid')})")
    return path


def resume_overrides(run_dir: Path) -> list[str]:
    """The config a run was started with, as overrides that reproduce it (`trainer.max_epochs=30`...)."""
    saved = yaml.safe_load((run_dir / CONFIG).read_text()) or {}
    return [f"{key}={json.dumps(value)}" for key, value in config.flatten(saved).items()]


def find_run(model: str, run_id: str | None = None) -> Path:
    """The run called `run_id`, or the latest finished run of `model`."""
    if run_id is None:
        runs = list_runs(model)
        if not runs:
            raise RunError(f"model '{model}' has no finished run yet: train it first")
        return runs[-1]
    path = runs_root() / model / run_id
    if not is_finished(path):
        state, error = status(path) if path.is_dir() and "/" not in run_id else ("", "")
        if state in (FAILED, INTERRUPTED, RUNNING):
            raise RunError(f"run '{run_id}' of model '{model}' did not finish: {state}{': ' + error if error else ''}")
        known = ", ".join(p.name for p in list_runs(model)) or "none"
        raise RunError(f"no finished run '{run_id}' for model '{model}' (finished runs: {known})")
    return path


def _alive(pid: object) -> bool:
    """Whether process `pid` of this machine still runs (a pid that is not a number: unknown, taken as alive)."""
    if not isinstance(pid, int) or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: another user's process
        return True
    return True
