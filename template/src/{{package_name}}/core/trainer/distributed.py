"""Several training processes (torchrun, or SageMaker's torch_distributed) working as one.

torchrun starts one process per rank and describes the group through `RANK`, `WORLD_SIZE`,
`LOCAL_RANK`, `MASTER_ADDR` and `MASTER_PORT`; SageMaker's `torch_distributed` distribution
runs the entry point under torchrun, so the same code covers both. Without those variables
everything here is a no-op and training runs in one process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def is_main() -> bool:
    """Whether this process writes files, logs metrics and shows progress (rank 0)."""
    return rank() == 0


@contextmanager
def process_group() -> Iterator[None]:
    """Join the process group torchrun describes while the block runs.

    Collectives on CPU tensors go through gloo and, where CUDA is present, those on GPU tensors
    through NCCL, so the same code serves a model on either; each process takes the GPU of its
    local rank (one process per GPU).
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        yield
        return
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())
    dist.init_process_group("cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo")
    try:
        yield
    finally:
        dist.destroy_process_group()


def from_main(make: Callable[[], T]) -> T:
    """`make()` run on rank 0 only, its result shared with every rank (e.g. the run folder)."""
    if not dist.is_initialized():
        return make()
    shared = [make() if is_main() else None]
    dist.broadcast_object_list(shared, src=0)
    return shared[0]


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def mean(value: float) -> float:
    """The mean of `value` over all ranks."""
    if not dist.is_initialized():
        return value
    total = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(total)
    return total.item() / world_size()
