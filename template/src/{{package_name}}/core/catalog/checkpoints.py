"""Resumable training state on disk: written atomically, loaded onto whatever device trains.

A checkpoint holds everything a run needs to go on exactly where it stopped: the weights, the
optimizer's, scheduler's and gradient scaler's state, the early-stopping record, and every
random generator's state, so a resumed seeded run ends where an uninterrupted one would.
"""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import torch

from ..basics.errors import ProjectError

LAST = "last.pt"  # written every `trainer.checkpoint_every` epochs
BEST = "best.pt"  # the weights of the epoch with the best goal metric so far


class CheckpointError(ProjectError):
    """A checkpoint file that cannot be read back (cut short, or not a checkpoint)."""


def save(path: Path, state: dict) -> None:
    """Write `state` to `path` so that a killed process never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.partial")
    try:
        torch.save(state, partial)
    except BaseException:  # interrupted, or out of space: no half file left behind
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)


def load(path: Path, device: torch.device | str = "cpu") -> dict | None:
    """The state saved at `path` with its tensors on `device`, or None when there is none."""
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as error:
        message = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise CheckpointError(f"checkpoint {path} cannot be read ({message}); delete it to start over") from error


def random_state() -> dict:
    """The state of Python's and torch's random generators (CUDA's too when present)."""
    state = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_random_state(state: dict) -> None:
    """Put the random generators back as `random_state` found them."""
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
