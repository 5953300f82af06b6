"""Engines: how a cell runs over a sequence, chosen by name.

    reference  a Python loop over the cell's step, differentiated by autograd: the specification
    fused      one autograd.Function per layer and direction, hoisted input GEMM, BPTT by hand
    native     torch's own kernels (oneDNN, cuDNN), for the configurations torch.nn has
    auto       the fastest engine that can run the layer (see `choose`)

`reference` and `fused` are modules with `run(cell, p, x, state, batch_sizes, reverse,
record)` for one layer and direction; `native` runs a whole stack (`run_stack`).
"""

from __future__ import annotations

import torch

from ..cells import LSTMMath
from ..cells.base import CellMath
from . import fused, native, reference

NAMES = ("auto", "reference", "fused", "native")


def check(engine: str, cell: CellMath) -> str:
    """`engine`, if it names an engine that can run `cell`; else a ValueError saying why."""
    if not isinstance(engine, str) or engine not in NAMES:
        raise ValueError(f"engine={engine!r} is not one of: {', '.join(NAMES)}")
    if engine == "native":
        reason = native.unsupported(cell)
        if reason:
            raise ValueError(f"engine='native' runs only what torch.nn has a kernel for, not {reason}; use 'auto' or 'fused'")
    return engine


def choose(cell: CellMath, device: torch.device, recording: bool = False, training: bool = True) -> str:
    """What `auto` runs: torch's kernel where it is the faster one and no gates are
    recorded, otherwise the fused engine (docs/benchmarks.md has the measurements).

    On the CPU torch has an optimised kernel (oneDNN) only for the LSTM without a
    projection; its GRU, RNN and projected LSTM are loops of small ops, quick to run but
    slow to differentiate through autograd, which the fused engine beats whenever a
    gradient is needed (`training`). On CUDA, cuDNN runs whatever torch.nn has."""
    if recording or native.unsupported(cell):
        return "fused"
    if training and device.type == "cpu" and not (isinstance(cell, LSTMMath) and not cell.proj_size):
        return "fused"
    return "native"


def select(engine: str, cell: CellMath, device: torch.device, recording: bool, training: bool):
    """The engine module to run `cell` now (`training`: a gradient will be asked for)."""
    if engine == "auto":
        engine = choose(cell, device, recording, training)
    elif engine == "native" and recording:
        raise ValueError("engine='native' runs torch's kernels, which cannot record gates; use 'auto', 'fused' or 'reference'")
    return {"reference": reference, "fused": fused, "native": native}[engine]
