"""The fused engine: one autograd.Function per layer and direction, with BPTT by hand.

Forward: the input projection of all T steps in one GEMM, then per step only the
recurrent product and the cell's pointwise math (cell.step, run without autograd),
keeping the states and gates the backward needs.
Backward: a reverse loop over cell.step_backward carries the state gradient back and
collects dL/dxw for every step; then each weight gradient is one GEMM over all steps
(cell.parameter_grads, and dW_ih = dxw^T x here) and the input gradient one more GEMM.

No cell's math is restated here: the engine only runs a cell's step and backward step.
Its backward is not itself differentiable: create_graph=True raises (use 'reference').

Shapes: T time, B batch, I input, G input projection, S a state's size.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..cells.base import CellMath, Params, State, outer_sum, row_sum
from .sequence import keep_rows, pad_rows, step_sizes

name = "fused"


def run(
    cell: CellMath,
    p: Params,
    x: Tensor,  # (T, B, I)
    state: State,  # each (B, S)
    batch_sizes: list[int] | None = None,
    reverse: bool = False,
    record: bool = False,
) -> tuple[Tensor, State, dict[str, Tensor] | None]:
    """One layer in one direction, as `reference.run`."""
    names = tuple(p)
    trace = {} if record else None
    out, *final = _BPTT.apply(cell, names, batch_sizes, reverse, trace, len(state), x, *state, *p.values())
    return out, tuple(final), trace


class _BPTT(torch.autograd.Function):
    @staticmethod
    def forward(ctx, cell, names, batch_sizes, reverse, trace, n_states, x, *tensors):
        state, p = tuple(tensors[:n_states]), dict(zip(names, tensors[n_states:]))
        T, B = x.shape[:2]
        sizes = step_sizes(T, B, batch_sizes, reverse)
        xs = x.flip(0) if reverse else x
        xw = cell.project_input(p, xs)  # (T, B, G): one GEMM for every step
        p = cell.prepare(p)
        states, gates, outputs = [state], [], []
        for n, xw_t in zip(sizes, xw.unbind(0)):
            if n == B:
                state, g = cell.step(p, xw_t, state)
                new = state
            else:  # a packed batch: rows past n have ended (or not yet begun)
                new, g = cell.step(p, xw_t[:n], tuple(s[:n] for s in state))
                state = tuple(keep_rows(a, s) for a, s in zip(new, state))
            states.append(state)
            gates.append(g | dict(zip(cell.states, new)) if trace is not None else g)
            outputs.append(pad_rows(new[0], B))
        out = torch.stack(outputs)
        if trace is not None:
            trace.update({k: v.flip(0) if reverse else v for k, v in _Stacked(gates, B).items()})
        ctx.cell, ctx.names, ctx.sizes, ctx.reverse, ctx.n_states = cell, names, sizes, reverse, n_states
        ctx.states, ctx.gates = states, gates
        ctx.save_for_backward(xs, *tensors[n_states:])
        return (out.flip(0) if reverse else out, *state)

    @staticmethod
    def backward(ctx, dout, *dfinal):
        if torch.is_grad_enabled():  # i.e. backward(create_graph=True)
            raise RuntimeError(
                "rnnkit's fused engine computes gradients by hand and cannot be differentiated twice "
                "(create_graph=True); use engine='reference' for higher-order gradients"
            )
        cell, sizes, states, gates = ctx.cell, ctx.sizes, ctx.states, ctx.gates
        xs, *weights = ctx.saved_tensors
        p = cell.prepare(dict(zip(ctx.names, weights)))
        T, B = xs.shape[:2]
        douts = (dout.flip(0) if ctx.reverse else dout).unbind(0)
        dstate = tuple(d if d is not None else s.new_zeros(s.shape) for d, s in zip(dfinal, states[-1]))
        dxw = xs.new_zeros(T, B, p[cell.input_weight].shape[0])  # (T, B, G), filled step by step
        dxws, extras = dxw.unbind(0), [None] * T
        for t in range(T - 1, -1, -1):
            n = sizes[t]
            if n == B:
                dnew = (dstate[0] + douts[t], *dstate[1:])
                dxw_t, dstate, extras[t] = cell.step_backward(p, dnew, states[t], states[t + 1], gates[t])
            else:  # a packed batch: only the first n rows took part in step t
                dnew = (dstate[0][:n] + douts[t][:n], *(d[:n] for d in dstate[1:]))
                prev, new = tuple(s[:n] for s in states[t]), tuple(s[:n] for s in states[t + 1])
                dxw_t, dprev, extras[t] = cell.step_backward(p, dnew, prev, new, gates[t])
                dstate = tuple(keep_rows(a, d) for a, d in zip(dprev, dstate))
            dxws[t][: len(dxw_t)] = dxw_t  # into place: no list of T tensors to stack at the end
        whole = _Stacked([dict(enumerate(s)) for s in states], B)  # state i: (T + 1, B, S)
        prev = _Slices(whole, slice(None, -1))
        new = _Slices(whole, slice(1, None))
        grads = cell.parameter_grads(p, prev, new, _Stacked(gates, B), dxw, _Stacked(extras, B))
        grads[cell.input_weight] = outer_sum(dxw, xs)
        if cell.input_bias in p:
            grads[cell.input_bias] = row_sum(dxw)
        dx = None
        if ctx.needs_input_grad[6]:
            dx = dxw @ p[cell.input_weight]  # (T, B, I): one GEMM for every step
            dx = dx.flip(0) if ctx.reverse else dx
        return (None,) * 6 + (dx, *dstate, *(grads[k] for k in ctx.names))


class _Stacked(dict):
    """A list over time of {name: (n_t, F)}, seen as {name: (T, B, F)} (zeros for inactive
    rows); each name is stacked on first use, so what parameter_grads ignores costs nothing."""

    def __init__(self, per_step: list[dict], B: int):
        super().__init__()
        self.per_step, self.B = per_step, B

    def __missing__(self, key):
        self[key] = value = torch.stack([pad_rows(g[key], self.B) for g in self.per_step])
        return value

    def items(self):
        return [(k, self[k]) for k in self.per_step[0]]


class _Slices:
    """States before (or after) each step, as a tuple-like of (T, B, S) views of `whole`."""

    def __init__(self, whole: _Stacked, steps: slice):
        self.whole, self.steps = whole, steps

    def __getitem__(self, i: int) -> Tensor:
        return self.whole[i][self.steps]
