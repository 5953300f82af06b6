"""The fused engine: one autograd.Function per layer and direction, with BPTT by hand.

Forward: the input projection of all T steps in a few large GEMMs, then per step only the
recurrent product and the cell's pointwise math (cell.step, run without autograd),
keeping the states and gates the backward needs.
Backward: a reverse loop over cell.step_backward carries the state gradient back and
collects dL/dxw for every step; after each block of steps, each weight gradient of the
block is one GEMM (cell.parameter_grads, and dW_ih = dxw^T x here), and so is the input
gradient. Blocks of about BLOCK_ROWS rows keep the GEMMs large and the buffers small.

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
BLOCK_ROWS = 1024  # steps * batch per block of the input GEMMs and of the weight-gradient GEMMs


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
        p_raw, p = p, cell.prepare(p)
        states, gates, outputs = [state], [], []
        for n, xw_t in zip(sizes, _projected(cell, p_raw, xs)):
            if n == B:
                state, g = cell.step(p, xw_t, state)
                new = state
            else:  # a packed batch: rows past n have ended (or not yet begun)
                new, g = cell.step(p, xw_t[:n], tuple(s[:n] for s in state))
                state = tuple(keep_rows(a, s) for a, s in zip(new, state))
            states.append(state)
            gates.append(g | dict(zip(cell.states, new)) if trace is not None else g)
            outputs.append(pad_rows(new[0], B))
        whole = _Stacked([dict(enumerate(s)) for s in states], B)  # state i: (T + 1, B, S), stacked on use
        if batch_sizes is None:  # the outputs are states[0] of every step: keep them once, in one tensor
            whole[0] = torch.stack([states[0][0], *outputs])
            out = whole[0][1:]
            states[1:] = [(o, *s[1:]) for o, s in zip(out.unbind(0), states[1:])]
        else:
            out = torch.stack(outputs)
        if trace is not None:
            trace.update({k: v.flip(0) if reverse else v for k, v in _Stacked(gates, B).items()})
        ctx.cell, ctx.names, ctx.sizes, ctx.reverse = cell, names, sizes, reverse
        ctx.states, ctx.gates, ctx.whole = states, gates, whole
        # Saved through autograd, so that editing the output in place raises instead of
        # corrupting the backward; the final state goes out as a copy for the same reason.
        ctx.save_for_backward(xs, whole[0] if batch_sizes is None else None, *tensors[n_states:])
        return (out.flip(0) if reverse else out, *(s.clone() for s in state))

    @staticmethod
    def backward(ctx, dout, *dfinal):
        if torch.is_grad_enabled():  # i.e. backward(create_graph=True)
            raise RuntimeError(
                "rnnkit's fused engine computes gradients by hand and cannot be differentiated twice "
                "(create_graph=True); use engine='reference' for higher-order gradients"
            )
        cell, sizes, states, gates = ctx.cell, ctx.sizes, ctx.states, ctx.gates
        xs, outputs, *weights = ctx.saved_tensors
        if outputs is not None:
            ctx.whole[0] = outputs
        p = cell.prepare(dict(zip(ctx.names, weights)))
        T, B = xs.shape[:2]
        douts = (dout.flip(0) if ctx.reverse else dout).unbind(0)
        dstate = tuple(d if d is not None else s.new_zeros(s.shape) for d, s in zip(dfinal, states[-1]))
        W_ih = p[cell.input_weight]
        dx = xs.new_empty(xs.shape) if ctx.needs_input_grad[6] else None
        grads, extras = {}, [None] * T
        steps = _block_steps(B)
        for t1 in range(T, 0, -steps):  # blocks of steps [t0, t1), the last first
            t0 = max(0, t1 - steps)
            dxw = [None] * (t1 - t0)
            for t in range(t1 - 1, t0 - 1, -1):
                n = sizes[t]
                if n == B:
                    dnew = (dstate[0] + douts[t], *dstate[1:])
                    dxw[t - t0], dstate, extras[t] = cell.step_backward(p, dnew, states[t], states[t + 1], gates[t])
                else:  # a packed batch: only the first n rows took part in step t
                    dnew = (dstate[0][:n] + douts[t][:n], *(d[:n] for d in dstate[1:]))
                    prev, new = tuple(s[:n] for s in states[t]), tuple(s[:n] for s in states[t + 1])
                    dxw_t, dprev, extras[t] = cell.step_backward(p, dnew, prev, new, gates[t])
                    dstate = tuple(keep_rows(a, d) for a, d in zip(dprev, dstate))
                    dxw[t - t0] = pad_rows(dxw_t, B)
            dxw = torch.stack(dxw)  # (steps, B, G)
            # The weight gradients are sums over steps: one GEMM per weight for the whole block.
            prev, new = _Slices(ctx.whole, slice(t0, t1)), _Slices(ctx.whole, slice(t0 + 1, t1 + 1))
            block = cell.parameter_grads(p, prev, new, _Stacked(gates[t0:t1], B), dxw, _Stacked(extras[t0:t1], B))
            block[cell.input_weight] = outer_sum(dxw, xs[t0:t1])
            if cell.input_bias in p:
                block[cell.input_bias] = row_sum(dxw)
            grads = {k: grads[k] + g for k, g in block.items()} if grads else block
            if dx is not None:
                torch.matmul(dxw, W_ih, out=dx[t0:t1])  # the input gradient, one GEMM per block
        if dx is not None and ctx.reverse:
            dx = dx.flip(0)
        return (None,) * 6 + (dx, *dstate, *(grads[k] for k in ctx.names))


def _projected(cell, p, xs):
    """xw_t = W x_t + b for each step, from one GEMM per block of steps (of BLOCK_ROWS
    rows): as fast as one GEMM for all, without holding all of xw (T, B, G) at once."""
    for block in xs.split(_block_steps(xs.shape[1])):
        yield from cell.project_input(p, block).unbind(0)


def _block_steps(B: int) -> int:
    return max(1, BLOCK_ROWS // B)


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
