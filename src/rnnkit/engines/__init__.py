"""Engines: how a cell runs over a sequence, chosen by name; all share one protocol
(`base.Engine`: `unsupported(spec, device)` and `run(...)` for a whole stack).

    reference  a Python loop over the cell's step, differentiated by autograd: the specification
    fused      one autograd.Function per layer and direction, hoisted input GEMM, BPTT by hand
    native     torch's own kernels (oneDNN, cuDNN), for the configurations torch.nn has
    compiled   the fused engine's loop and hand BPTT in C++, on the CPU (kernels/cpu), built on first use
    triton     the fused engine's loop with each pointwise stage one Triton kernel (CUDA; opt-in)
    auto       the fastest engine that can run the layer (see `choose`)

What an engine can run is asked of it with the cell's spec, never read from the cell's type.
"""

from __future__ import annotations

import torch

from ..cells.base import CellSpec
from .base import Engine, LayerwiseEngine, Run
from .compiled_cpu import CompiledCPU
from .fused import Fused
from .native import Native
from .reference import Reference
from .triton import Triton

ENGINES: dict[str, Engine] = {e.name: e for e in (Reference(), Fused(), Native(), CompiledCPU(), Triton())}
NAMES = ("auto", *ENGINES)

__all__ = ["ENGINES", "NAMES", "Engine", "LayerwiseEngine", "Run", "check", "choose", "select"]


def check(engine: str, spec: CellSpec) -> str:
    """`engine`, if it names an engine that can run a cell of `spec`; else a ValueError saying why."""
    if not isinstance(engine, str) or engine not in NAMES:
        raise ValueError(f"engine={engine!r} is not one of: {', '.join(NAMES)}")
    if engine == "native":
        reason = ENGINES["native"].unsupported(spec, torch.device("cpu"))
        if reason:
            raise ValueError(f"engine='native' runs only what torch.nn has a kernel for, not {reason}; use 'auto' or 'fused'")
    if engine == "compiled":
        reason = ENGINES["compiled"].unsupported(spec, torch.device("cpu"))
        if reason:
            raise ValueError(f"engine='compiled' is unavailable for this layer ({reason}); use 'auto' or 'fused'")
    return engine


def choose(spec: CellSpec, device: torch.device, recording: bool = False, training: bool = True) -> str:
    """What `auto` runs: the fastest engine that can (docs/benchmarks.md has the
    measurements) and records gates when asked to (torch's kernels cannot).

    On the CPU torch has an optimised kernel (oneDNN) only for the LSTM without a
    projection; everything else, and whatever records, runs the compiled engine, or where it
    cannot be built (one warning says why) as before: torch's GRU, RNN and projected LSTM are loops of small
    ops, quick to run but slow to differentiate through autograd, which the fused engine
    beats whenever a gradient is needed (`training`). On CUDA, cuDNN runs whatever torch.nn has.

    That LSTM stays on oneDNN even in training, where the compiled engine is mostly the
    faster (0.70-1.02x its time forward and backward, docs/benchmarks.md): there rnnkit.LSTM
    trains exactly as torch.nn.LSTM does, the same dropout masks between layers drawn from the
    same seed (tests/test_dropin_idioms.py), and under bfloat16 autocast oneDNN computes in
    bfloat16, 1.6x faster where the CPU has it, the compiled engine in float32."""
    onednn = spec.family == "LSTM" and not spec["proj_size"] and not ENGINES["native"].unsupported(spec, device)
    if device.type == "cpu" and (recording or not onednn) and not ENGINES["compiled"].unsupported(spec, device):
        return "compiled"
    if recording or ENGINES["native"].unsupported(spec, device):
        return "fused"
    if training and device.type == "cpu" and not (spec.family == "LSTM" and not spec["proj_size"]):
        return "fused"
    return "native"


def select(engine: str, spec: CellSpec, device: torch.device, recording: bool, training: bool) -> Engine:
    """The engine to run a cell of `spec` now (`training`: a gradient will be asked for)."""
    if engine == "auto":
        engine = choose(spec, device, recording, training)
    elif recording and not ENGINES[engine].records:
        raise ValueError(f"engine={engine!r} cannot record gates; use 'auto', 'fused' or 'reference'")
    return ENGINES[engine]
