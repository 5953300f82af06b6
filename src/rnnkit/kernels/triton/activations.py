"""The activation functions of `cells/activations.py` in Triton, each with its backward
in terms of its output y, chosen at compile time by a constexpr code (its position in
ACTIVATIONS):

    tanh         y = tanh(x)              dy/dx = 1 - y^2
    sigmoid      y = 1 / (1 + e^-x)       dy/dx = y (1 - y)
    relu         y = max(x, 0)            dy/dx = [y > 0]
    identity     y = x                    dy/dx = 1
    hardsigmoid  y = clamp(x/6 + 1/2)     dy/dx = [0 < y < 1] / 6

and the kernels of a stage that is one activation and nothing else (Elman's h, Jordan's
h and y): `activate` and `activate_backward`.
"""

from __future__ import annotations

import triton
import triton.language as tl
from torch import Tensor

from ...cells.activations import ACTIVATIONS, Activation
from .base import function, launch, load, rows, store, tile

CODES = {name: code for code, name in enumerate(ACTIVATIONS)}
TANH = tl.constexpr(CODES["tanh"])
SIGMOID = tl.constexpr(CODES["sigmoid"])
RELU = tl.constexpr(CODES["relu"])
IDENTITY = tl.constexpr(CODES["identity"])
HARDSIGMOID = tl.constexpr(CODES["hardsigmoid"])


def code(act: Activation) -> int:
    """The constexpr that selects `act` in `activation` and `activation_backward`."""
    return CODES[act.name]


@function
def tanh(x):
    """tanh from exp, which never overflows here (e <= 1); no libdevice, which the interpreter lacks."""
    e = tl.exp(-2.0 * tl.abs(x))
    t = (1.0 - e) / (1.0 + e)
    return tl.where(x < 0, -t, t)


@function
def sigmoid(x):
    """1 / (1 + e^-x), written out: triton.language's own sigmoid is a jit function, compiled
    or interpreted as Triton was when first imported (torch imports it early), not as these
    kernels are. For large -x, e^-x is inf and y is 0."""
    return 1.0 / (1.0 + tl.exp(-x))


@function
def activation(x, ACT: tl.constexpr):
    """y = act(x)."""
    if ACT == TANH:
        y = tanh(x)
    elif ACT == SIGMOID:
        y = sigmoid(x)
    elif ACT == RELU:
        y = tl.maximum(x, 0.0)
    elif ACT == IDENTITY:
        y = x
    else:  # HARDSIGMOID: clamp(x / 6 + 1/2, 0, 1)
        y = tl.minimum(tl.maximum(x / 6.0 + 0.5, 0.0), 1.0)
    return y


@function
def activation_backward(y, dy, ACT: tl.constexpr):
    """dL/dx = dL/dy * dy/dx, from the output y."""
    if ACT == TANH:
        dx = dy * (1.0 - y * y)
    elif ACT == SIGMOID:
        dx = dy * y * (1.0 - y)
    elif ACT == RELU:
        dx = tl.where(y > 0, dy, 0.0)
    elif ACT == IDENTITY:
        dx = dy
    else:  # HARDSIGMOID
        dx = tl.where((y > 0) & (y < 1), dy / 6.0, 0.0)
    return dx


@triton.jit
def _activate(x_ptr, y_ptr, B, N, ACT: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr):
    b, j, mask = tile(B, N, BLOCK_B, BLOCK_N)
    bj = b * N + j  # where (b, j) is in a (B, N) tensor
    x = load(x_ptr, bj, mask)
    y = activation(x, ACT)  # y = act(x)
    store(y_ptr, bj, y, mask)


@triton.jit
def _activate_backward(y_ptr, dy_ptr, dx_ptr, B, N, ACT: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr):
    b, j, mask = tile(B, N, BLOCK_B, BLOCK_N)
    bj = b * N + j
    y = load(y_ptr, bj, mask)
    dy = load(dy_ptr, bj, mask)
    dx = activation_backward(y, dy, ACT)  # dL/dx = act.backward(y, dL/dy)
    store(dx_ptr, bj, dx, mask)


def activate(act: Activation, x: Tensor) -> Tensor:
    """act(x), x (B, N), in one kernel."""
    x = rows(x)
    y = x.new_empty(x.shape)
    launch(_activate, *x.shape, x, y, ACT=code(act))
    return y


def activate_backward(act: Activation, y: Tensor, dy: Tensor) -> Tensor:
    """act.backward(y, dy), each (B, N), in one kernel."""
    dy = rows(dy)
    dx = dy.new_empty(dy.shape)
    launch(_activate_backward, *dy.shape, rows(y), dy, dx, ACT=code(act))
    return dx
