"""What a cell is: the math of one timestep of one layer in one direction, cut where
fast kernels cut it.

A step is the cell's recurrent products, the GEMMs on the state that the engine runs,
each followed by a pointwise stage that the cell writes:

    xw  = project_input(p, x)              (T, B, G)  W_ih x + b_ih, for many steps at once
    a   = state[0]                         (B, S)     the first product reads the layer's output state
    for k, product in enumerate(products):
        rh = product(p, a, xw_t)           (B, R_k)   a W_k^T (+ b_k), or xw_t + a W_k^T (plus_input)
        a, saved = pointwise(k, p, xw_t, rh, state, saved)
    new state = a                                     the last stage returns the state; the others
                                                      the operand of the next product

and backward, from the last stage to the first (`pointwise_backward`): stage k takes
dL/d(its output) and returns dL/d(rh_k) (`drh`); the engine carries `drh @ W_k` back
to the stage before (or into dL/dstate[0] after stage 0) and sums the weight gradients
over blocks of steps as GEMMs. Values a stage's backward needs from a later stage's
backward travel in `carry`; stage 0 returns dL/dxw and dL/dstate. Most cells have one
product; a GEMM in mid-step (the reset-before GRU's W_hn (r * h), Jordan's output
layer, an LSTM's projection) is a second product, never a GEMM inside a pointwise stage.

A cell also states its parameters (PyTorch's names and shapes), its states, what a
recording shows (`recorded`, with the activation of each gate in `activations`) apart
from what the backward keeps (`saved`), the gradients of parameters used inside the
pointwise stages (`pointwise_parameter_grads`), and a frozen `spec` of its options that
engines ask what they can run. It has no time loop and owns no tensors.

Shapes: B batch, I input, H hidden, S a state's size, G the input projection's size
(4H for an LSTM), R a product's size, T time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .activations import Activation

Params = dict[str, Any]  # name -> Tensor; after `prepare`, also each Product -> Prepared
State = tuple[Tensor, ...]
Saved = dict[str, Tensor]


def check_size(name: str, value, minimum: int = 1) -> int:
    """`value` if it is an integer >= minimum, else a ValueError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


@dataclass(frozen=True)
class CellSpec:
    """A cell's options, frozen: what engines and tools ask instead of looking at types.

    family is "Elman", "LSTM", "GRU", "Jordan" or "CTRNN"; options holds every other
    constructor argument by name (activations by name), in the constructor's order."""

    family: str
    hidden_size: int
    bias: bool
    options: tuple[tuple[str, Any], ...] = ()

    def __getitem__(self, name: str) -> Any:
        return dict(self.options)[name]

    def differs_from(self, defaults: dict[str, Any]) -> str | None:
        """The first option whose value is not the one in `defaults`, as 'name=value'."""
        for name, value in self.options:
            if name in defaults and value != defaults[name]:
                return f"{name}={value!r}"
        return None


class Prepared(NamedTuple):
    """A product's weight rows W (R, K), their transpose (K, R) and bias rows (R,) or None."""

    W: Tensor
    Wt: Tensor
    b: Tensor | None


@dataclass(frozen=True, eq=False)  # hashed by identity: it keys the prepared weights at every step
class Product:
    """One recurrent product of a step, run by the engine: rh = a W^T + b, with W the rows
    `rows` (all by default) of parameter `weight`. With plus_input the pointwise stage
    needs only xw_t + a W^T: the engine adds xw_t inside the GEMM, and the bias, which
    every step adds unchanged, is folded into the input projection instead."""

    weight: str
    bias: str | None = None
    rows: tuple[int, int] | None = None
    plus_input: bool = False

    def prepare(self, p: Params) -> Prepared:
        W, b = p[self.weight], p.get(self.bias) if self.bias else None
        if self.rows:
            W, b = W[slice(*self.rows)], b[slice(*self.rows)] if b is not None else None
        return Prepared(W, W.t(), None if self.plus_input else b)

    def __call__(self, p: Params, a: Tensor, xw: Tensor) -> Tensor:
        """rh (B, R) from the operand a (B, K); p is prepared."""
        W, Wt, b = p[self]
        if self.plus_input:
            return torch.addmm(xw, a, Wt)
        return a @ Wt if b is None else torch.addmm(b, a, Wt)


class StageGrad(NamedTuple):
    """What one pointwise stage's backward returns (None: nothing flows there).

    drh    dL/d(rh_k), the gradient of this stage's product (B, R_k)
    dxw    dL/dxw_t (B, G), the whole of it: stage 0 only
    dstate dL/dstate by this stage's direct paths, one per state (None: no direct path);
           the engine adds drh_0 W_0 to dstate[0]: stage 0 only
    carry  gradients an earlier stage's backward needs (later stages only)
    extras per-step values `pointwise_parameter_grads` needs, stacked over time (stage 0)"""

    drh: Tensor
    dxw: Tensor | None = None
    dstate: tuple[Tensor | None, ...] | None = None
    carry: dict[str, Tensor] = {}
    extras: dict[str, Tensor] = {}


class CellMath:
    family: str = ""
    states: tuple[str, ...] = ("h",)  # the recurrent state; states[0] is the layer's output
    recorded: tuple[str, ...] = ("h",)  # what a recording shows: gates (from saved) and states
    input_weight = "weight_ih"
    input_bias = "bias_ih"

    def __init__(self, hidden_size: int, bias: bool = True, **options):
        self.hidden_size = check_size("hidden_size", hidden_size)
        self.bias = bool(bias)
        self.spec = CellSpec(self.family, hidden_size, self.bias, tuple(options.items()))

    # What the cell is made of.
    products: tuple[Product, ...] = ()
    activations: dict[str, Activation] = {}  # each recorded gate's activation

    def parameter_shapes(self, input_size: int) -> dict[str, tuple[int, ...]]:
        """Every parameter of one layer-direction, in PyTorch's registration order."""
        raise NotImplementedError

    def state_sizes(self) -> tuple[int, ...]:
        """The feature size of each state in `states`."""
        return (self.hidden_size,)

    @property
    def output_size(self) -> int:
        return self.state_sizes()[0]

    def gate_rows(self, gate: str) -> slice:
        """The rows of weight_ih and bias_ih (and weight_hh, bias_hh) that make `gate`."""
        raise ValueError(f"the {self.family} cell has no gate rows")

    def in_unit_interval(self) -> tuple[str, ...]:
        """The recorded gates whose activation keeps them in [0, 1] (sigmoid, hardsigmoid)."""
        return tuple(name for name, act in self.activations.items() if act.bounds == (0.0, 1.0))

    def reset_parameters(self, p: Params) -> None:
        """PyTorch's initialisation: every parameter uniform in +-1/sqrt(hidden_size)."""
        k = 1.0 / math.sqrt(self.hidden_size)
        for w in p.values():
            w.data.uniform_(-k, k)

    # The step.
    def project_input(self, p: Params, x: Tensor) -> Tensor:
        """W_ih x + b for many steps at once: one GEMM outside the time loop. Engines that
        project in their own blocks of steps (the compiled one, in C++) compute the same from
        input_weight and projection_bias: a cell changes its projection there, not here."""
        return F.linear(x, p[self.input_weight], self.projection_bias(p))

    def projection_bias(self, p: Params) -> Tensor | None:
        """b of project_input: b_ih with the biases of plus_input products (added unchanged
        at every step) folded in, (G,); None without biases."""
        b = p.get(self.input_bias)
        for product in self.products:
            if product.plus_input and product.bias in p:
                b = b + p[product.bias]  # (G,): folded before the GEMM, not added to all of xw
        return b

    def prepare(self, p: Params) -> Params:
        """`p` and what every step of a sequence shares: each product's weight rows, their
        transpose and bias (`p[product]`), and the cell's own values (`prepare_pointwise`)."""
        return self.prepare_pointwise(p | {product: product.prepare(p) for product in self.products})

    def prepare_pointwise(self, p: Params) -> Params:
        return p

    def step(self, p: Params, xw: Tensor, state: State) -> tuple[State, Saved]:
        """One whole step, differentiable by autograd: (state', saved). p is prepared.
        saved holds each later product's operand as 'a1', 'a2', ... for the engine."""
        products = self.products
        if len(products) == 1:  # most cells: one product, one stage (no loop: this runs every step)
            return self.pointwise(0, p, xw, products[0](p, state[0], xw), state, {})
        a, saved = state[0], {}
        for k, product in enumerate(products):
            if k:
                saved[f"a{k}"] = a
            a, saved = self.pointwise(k, p, xw, product(p, a, xw), state, saved)
        return a, saved

    def step_backward(self, p: Params, dnew: State, prev: State, new: State, saved: Saved):
        """One step back, by hand: (dL/dxw_t, dL/dstate, each product's drh, the extras for
        `pointwise_parameter_grads`), from dL/dstate'. Between stages, and from stage 0 into
        dL/dstate[0], a product's gradient goes back through its weight: d(operand) = drh W.
        A plus_input product's drh is dL/dxw itself, and is left out (None)."""
        products = self.products
        dout, carry, drhs = dnew, {}, [None] * len(products)
        for k in range(len(products) - 1, 0, -1):  # the later stages, the last first
            g = self.pointwise_backward(k, p, dout, carry, prev, new, saved)
            drhs[k] = g.drh
            dout, carry = g.drh @ p[products[k]].W, g.carry
        g = self.pointwise_backward(0, p, dout, carry, prev, new, saved)
        W0, direct = p[products[0]].W, g.dstate[0]
        dstate = (g.drh @ W0 if direct is None else torch.addmm(direct, g.drh, W0),)
        if len(prev) > 1:
            dstate += tuple(d if d is not None else s.new_zeros(s.shape) for d, s in zip(g.dstate[1:], prev[1:]))
        if not products[0].plus_input:
            drhs[0] = g.drh
        return g.dxw, dstate, drhs, g.extras

    def pointwise(self, k: int, p: Params, xw: Tensor, rh: Tensor, state: State, saved: Saved):
        """Stage k: (operand of product k+1, or state' after the last stage; saved)."""
        raise NotImplementedError

    def pointwise_backward(
        self, k: int, p: Params, dout, carry: dict[str, Tensor], state: State, new: State, saved: Saved
    ) -> StageGrad:
        """Stage k backward: dout is dL/dstate' (a tuple) for the last stage, else dL/d(the
        operand stage k returned); carry comes from stage k+1's backward."""
        raise NotImplementedError

    def pointwise_parameter_grads(
        self, p: Params, prev: State, new: State, saved: Saved, dxw: Tensor, extras: dict[str, Tensor]
    ) -> dict[str, Tensor]:
        """dL/dp of the parameters used inside the pointwise stages, from whole blocks of
        steps: prev and new states, saved values and extras (T, B, ...), dxw (T, B, G)."""
        return {}

    def record(self, saved: Saved, new: State) -> dict[str, Tensor]:
        """What a recording shows of a step: `recorded`, from saved and the new state."""
        values = saved | dict(zip(self.states, new))
        return {name: values[name] for name in self.recorded}


def flat(t: Tensor) -> Tensor:
    """(T, B, F) -> (T*B, F), for the one-GEMM weight gradients."""
    return t.reshape(-1, t.shape[-1])


def outer_sum(d: Tensor, v: Tensor) -> Tensor:
    """sum over time and batch of d_tb v_tb^T: (T, B, M), (T, B, N) -> (M, N) in one GEMM."""
    return flat(d).t() @ flat(v)


def row_sum(d: Tensor) -> Tensor:
    """sum over time and batch: (T, B, M) -> (M,)."""
    return flat(d).sum(0)
