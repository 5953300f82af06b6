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
from .sequence import keep_rows, pad_rows, rows, step_sizes

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
            new, g = cell.step(p, rows(xw_t, n), tuple(rows(s, n) for s in state))
            state = tuple(keep_rows(a, s) for a, s in zip(new, state))
            states.append(state)
            gates.append(g | dict(zip(cell.states, new)) if trace is not None else g)
            outputs.append(pad_rows(new[0], B))
        out = torch.stack(outputs)
        if trace is not None:
            trace.update({k: v.flip(0) if reverse else v for k, v in _stack_gates(gates, B).items()})
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
        dout = dout.flip(0) if ctx.reverse else dout
        dstate = tuple(d if d is not None else s.new_zeros(s.shape) for d, s in zip(dfinal, states[-1]))
        dxw, extras, douts = [None] * T, [None] * T, dout.unbind(0)
        for t in range(T - 1, -1, -1):
            n = sizes[t]
            dnew = (rows(dstate[0], n) + rows(douts[t], n), *(rows(d, n) for d in dstate[1:]))
            prev, new = tuple(rows(s, n) for s in states[t]), tuple(rows(s, n) for s in states[t + 1])
            dxw[t], dprev, extras[t] = cell.step_backward(p, dnew, prev, new, gates[t])
            dstate = tuple(keep_rows(a, d) for a, d in zip(dprev, dstate))
        dxw = torch.stack([pad_rows(d, B) for d in dxw])  # (T, B, G)
        whole = [torch.stack(s) for s in zip(*states)]  # per state: (T + 1, B, S)
        grads = cell.parameter_grads(
            p,
            tuple(s[:-1] for s in whole),
            tuple(s[1:] for s in whole),
            _stack_gates(gates, B),
            dxw,
            _stack_gates(extras, B),
        )
        grads[cell.input_weight] = outer_sum(dxw, xs)
        if cell.input_bias in p:
            grads[cell.input_bias] = row_sum(dxw)
        dx = dxw @ p[cell.input_weight]  # (T, B, I): one GEMM for every step
        dx = dx.flip(0) if ctx.reverse else dx
        return (None,) * 6 + (dx, *dstate, *(grads[k] for k in ctx.names))


def _stack_gates(per_step: list[dict[str, Tensor]], B: int) -> dict[str, Tensor]:
    """A list over time of {name: (n_t, H)} -> {name: (T, B, H)}, zeros for inactive rows."""
    return {k: torch.stack([pad_rows(g[k], B) for g in per_step]) for k in per_step[0]}
