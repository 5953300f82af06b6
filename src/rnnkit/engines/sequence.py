"""What every engine's time loop shares: which rows of the batch are active at a step.

A PackedSequence reaches the engines padded to (T, B, F), its sequences sorted by
length, longest first, so at step t only the first n_t = batch_sizes[t] rows are active.
Rows past n_t keep their state: a finished sequence holds its final state, and in the
reverse direction (which flips time, so each sequence starts at its own end) a sequence
not yet started holds its initial state. Padded steps output zeros, as
pad_packed_sequence does.
"""

from __future__ import annotations

import torch
from torch import Tensor


def step_sizes(T: int, B: int, batch_sizes: list[int] | None, reverse: bool) -> list[int]:
    """The number of active rows at each step, in the order the steps run."""
    if batch_sizes is None:
        return [B] * T
    return batch_sizes[::-1] if reverse else list(batch_sizes)


def rows(t: Tensor, n: int) -> Tensor:
    """The first n rows of t (t itself when that is all of them: a slice costs a dispatch)."""
    return t if n == t.shape[0] else t[:n]


def keep_rows(new: Tensor, old: Tensor) -> Tensor:
    """The state after a step: `new` for the active rows, `old` for the rest."""
    n = new.shape[0]
    return new if n == old.shape[0] else torch.cat((new, old[n:]))


def pad_rows(t: Tensor, B: int) -> Tensor:
    """(n, F) -> (B, F), zeros for the inactive rows."""
    n = t.shape[0]
    return t if n == B else torch.cat((t, t.new_zeros((B - n, *t.shape[1:]))))
