"""Resumable training state on disk: written atomically, loaded onto whatever device trains.

A checkpoint holds everything a run needs to go on exactly where it stopped: the weights, the
optimizer's, scheduler's and gradient scaler's state, the early-stopping record, and every
random generator's state, so a resumed seeded run ends where an uninterrupted one would.
"""

from __future__ import annotations

import random
from pathlib import Path

import torch

LAST = "last.pt"  # written every `trainer.checkpoint_every` epochs
BEST = "best.pt"  # the weights of the epoch with the best goal metric so far


def save(path: Path, state: dict) -> None:
    """Write `state` to `path` so that a killed process never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.partial")
    torch.save(state, partial)
    partial.replace(path)


def load(path: Path, device: torch.device | str = "cpu") -> dict | None:
    """The state saved at `path` with its tensors on `device`, or None when there is none."""
    if not path.is_file():
        return None
    return torch.load(path, map_location=device, weights_only=True)


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
