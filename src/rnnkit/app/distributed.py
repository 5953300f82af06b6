"""One process or many: torchrun's environment, the process group, and what processes exchange.

Under torchrun (WORLD_SIZE > 1) every process joins one group: nccl when the run is on CUDA
(each process on the GPU of its LOCAL_RANK), gloo on CPU. With one process every helper
here is the identity and touches no process group.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.distributed as dist

from .device import resolve_device


@contextmanager
def process_group(device: str) -> Iterator[tuple[int, int, str]]:
    """(rank, world, device) of this process inside the group torchrun describes, left on exit;
    ``device`` becomes ``cuda:LOCAL_RANK`` where it lets the process choose a GPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if resolve_device(device).type == "cuda" else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend)
    rank = dist.get_rank() if world > 1 else 0
    if world > 1 and device in ("auto", "cuda") and torch.cuda.is_available():
        device = f"cuda:{local_rank}"
    try:
        yield rank, world, device
    finally:
        if world > 1 and dist.is_initialized():
            dist.barrier()  # no process leaves while another may still be in a collective with it
            dist.destroy_process_group()


def gather(t: torch.Tensor, dim: int, world: int, device: torch.device) -> torch.Tensor:
    """``t`` of every process, concatenated along ``dim`` (on this process's device: nccl needs it)."""
    if world == 1:
        return t
    t = t.to(device).contiguous()
    parts = [torch.empty_like(t) for _ in range(world)]
    dist.all_gather(parts, t)
    return torch.cat(parts, dim)


def mean(t: torch.Tensor, world: int) -> torch.Tensor:
    """The mean of ``t`` over the processes."""
    if world > 1:
        dist.all_reduce(t)
        t /= world
    return t


def largest(value: int, world: int, device: torch.device) -> int:
    """The largest of every process's ``value``: all processes agree on it."""
    if world == 1:
        return value
    t = torch.tensor([value], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return int(t.item())


def from_lead(value: int, world: int, device: torch.device) -> int:
    """Rank 0's ``value``, in every process."""
    if world == 1:
        return value
    t = torch.tensor([value], device=device)
    dist.broadcast(t, 0)
    return int(t.item())
