"""What a cell is: the math of one timestep of one layer in one direction.

A cell knows its parameters (names and shapes, PyTorch's names wherever PyTorch has
the same parameter), its recurrent state, one forward step and the hand-derived
backward of that step. It has no time loop and owns no tensors: engines run it over a
sequence (see `rnnkit.engines`) and layers own the parameters (see `rnnkit.layers`).

Shapes: B batch, I input features, H hidden units, S a state's size, G the size of the
input projection (e.g. 4H for an LSTM).

The contract, for a cell with parameters p (a dict name -> tensor, no layer suffix):
    xw = project_input(p, x)                     # (..., B, G) = W x + b, hoisted out of the loop
    p = prepare(p)                               # adds what every step shares (W_hh^T, say)
    state', gates = step(p, xw_t, state)         # state: tuple of (B, S); gates: dict of (B, H)
    dxw_t, dstate, extras = step_backward(p, dstate', state, state', gates)
    grads = parameter_grads(p, prev, new, gates, dxw, extras)  # all but the input projection's
`step` is differentiable by autograd (the reference engine relies on that); the fused
engine instead runs it without autograd and calls `step_backward` and
`parameter_grads`, which must agree with autograd exactly.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor

Params = dict[str, Tensor]
State = tuple[Tensor, ...]
Gates = dict[str, Tensor]


def check_size(name: str, value, minimum: int = 1) -> int:
    """`value` if it is an integer >= minimum, else a ValueError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


class CellMath:
    gates: tuple[str, ...] = ()  # the intermediate values `step` returns (and a recording shows)
    states: tuple[str, ...] = ("h",)  # the recurrent state; states[0] is the layer's output
    input_weight = "weight_ih"
    input_bias = "bias_ih"
    folded_bias: str | None = None  # a recurrent bias the step adds unchanged, folded into xw

    def __init__(self, hidden_size: int, bias: bool = True):
        self.hidden_size = check_size("hidden_size", hidden_size)
        self.bias = bias

    def parameter_shapes(self, input_size: int) -> dict[str, tuple[int, ...]]:
        """Every parameter of one layer-direction, in PyTorch's registration order."""
        raise NotImplementedError

    def state_sizes(self) -> tuple[int, ...]:
        """The feature size of each state in `states`."""
        return (self.hidden_size,)

    @property
    def output_size(self) -> int:
        return self.state_sizes()[0]

    def reset_parameters(self, p: Params) -> None:
        """PyTorch's initialisation: every parameter uniform in +-1/sqrt(hidden_size)."""
        k = 1.0 / math.sqrt(self.hidden_size)
        for w in p.values():
            w.data.uniform_(-k, k)

    def project_input(self, p: Params, x: Tensor) -> Tensor:
        """W x + b for every step at once: one GEMM outside the time loop. A recurrent
        bias that every step adds unchanged (`folded_bias`) is added here once too."""
        b = p.get(self.input_bias)
        if self.folded_bias in p:
            b = b + p[self.folded_bias]  # (G,): folded before the GEMM, not added to all of xw
        return F.linear(x, p[self.input_weight], b)

    def prepare(self, p: Params) -> Params:
        """`p` and the values every step of a sequence shares, computed once per sequence."""
        return p

    def step(self, p: Params, xw: Tensor, state: State) -> tuple[State, Gates]:
        raise NotImplementedError

    def step_backward(
        self, p: Params, dnew: State, state: State, new: State, gates: Gates
    ) -> tuple[Tensor, State, dict[str, Tensor]]:
        """Given dL/dstate', return dL/dxw, dL/dstate and any per-step extras that
        `parameter_grads` needs (stacked over time by the engine). p is prepared."""
        raise NotImplementedError

    def parameter_grads(
        self, p: Params, prev: State, new: State, gates: Gates, dxw: Tensor, extras: dict[str, Tensor]
    ) -> Params:
        """dL/dp for every parameter but the input projection's, from whole sequences:
        the states before (prev) and after (new) each step (T, B, S), gates (T, B, H),
        dxw (T, B, G) and the extras of `step_backward`, all stacked over time."""
        raise NotImplementedError


def flat(t: Tensor) -> Tensor:
    """(T, B, F) -> (T*B, F), for the one-GEMM weight gradients."""
    return t.reshape(-1, t.shape[-1])


def outer_sum(d: Tensor, v: Tensor) -> Tensor:
    """sum over time and batch of d_tb v_tb^T: (T, B, M), (T, B, N) -> (M, N) in one GEMM."""
    return flat(d).t() @ flat(v)


def row_sum(d: Tensor) -> Tensor:
    """sum over time and batch: (T, B, M) -> (M,)."""
    return flat(d).sum(0)
