"""What every cell's kernels share: the tile of (rows, units) a program owns, loads that
compute in float32 and stores back in the tensor's dtype, and the launch over a (B, N) grid.

A pointwise stage is independent per row of the batch and per unit, so each program owns a
tile of BLOCK_B rows by BLOCK_N units; the grid covers (B, N), and a mask the ragged edges.
Every value is loaded as float32 and the math runs in float32, whatever the tensors' dtype
(float32, bfloat16, float16); a store casts back to the dtype of the tensor it writes.

Tensors reach a kernel contiguous (`rows(t)`: no copy when they already are), so (b, j) of a
(B, N) tensor is at b * N + j; the one view a kernel reads with its own row stride is the
GRU's hn (a slice of rh).
"""

from __future__ import annotations

import triton
import triton.language as tl
from torch import Tensor
from triton.runtime.jit import JITFunction


@triton.jit
def _probe():
    pass


# Whether Triton interprets these kernels (TRITON_INTERPRET=1 when they were defined), on
# tensors of any device, or compiles them, for CUDA tensors only.
INTERPRETED = not isinstance(_probe, JITFunction)


def function(fn):
    """A Triton function that kernels call: @triton.jit when compiled. Under the interpreter,
    the plain function, which runs the same: the interpreter patches triton.language once
    per kernel launch, and again at every call of a nested jit function (milliseconds
    each, which would make the interpreted tests minutes long)."""
    return fn if INTERPRETED else triton.jit(fn)


TILE = 2048  # elements per program: a pointwise stage is bound by memory, and this fills a warp's lanes many times


@function
def tile(B, N, BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr):
    """This program's rows b (BLOCK_B, 1) and units j (1, BLOCK_N), and the mask of those in (B, N)."""
    b = tl.program_id(0) * BLOCK_B + tl.arange(0, BLOCK_B)[:, None]
    j = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)[None, :]
    return b, j, (b < B) & (j < N)


@function
def load(ptr, offsets, mask):
    """The values at ptr + offsets, as float32 (zero where masked off)."""
    return tl.load(ptr + offsets, mask=mask, other=0.0).to(tl.float32)


@function
def store(ptr, offsets, value, mask):
    """value at ptr + offsets, cast to the dtype of ptr's tensor."""
    tl.store(ptr + offsets, value.to(ptr.dtype.element_ty), mask=mask)


def rows(t: Tensor) -> Tensor:
    """t with its rows contiguous (t itself when they are: no copy, no launch)."""
    return t if t.is_contiguous() else t.contiguous()


def launch(kernel, B: int, N: int, *args, **constexprs) -> None:
    """Run `kernel` over a (B, N) grid of tiles: args, then B and N, then BLOCK_B and BLOCK_N.

    For the compiler: both block sizes are powers of two (tl.arange needs them), at least 2
    (no size-1 dimension), and their product at most TILE (registers per program)."""
    BLOCK_N = max(2, min(triton.next_power_of_2(N), TILE // 2))
    BLOCK_B = max(2, min(triton.next_power_of_2(B), TILE // BLOCK_N))
    grid = (triton.cdiv(B, BLOCK_B), triton.cdiv(N, BLOCK_N))
    kernel[grid](*args, B, N, **constexprs, BLOCK_B=BLOCK_B, BLOCK_N=BLOCK_N)
