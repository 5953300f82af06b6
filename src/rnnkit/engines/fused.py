"""The fused engine: one autograd.Function per layer and direction, with BPTT by hand.

Forward: the input projection of all T steps in a few large GEMMs, then per step only the
cell's step (its recurrent products and pointwise stages), run without autograd, keeping
what the backward needs.
Backward: a reverse loop over the cell's pointwise backward stages; between stages, and
into dL/dstate, the engine carries each product's gradient back through its weight (one
GEMM). After each block of steps, each weight gradient of the block is one GEMM (products,
and dW_ih = dxw^T x), the pointwise parameters' gradients come from the cell
(`pointwise_parameter_grads`), and so does the input gradient. Blocks of about
BLOCK_ROWS rows keep the GEMMs large and the buffers small.

No cell's math is restated here: the engine only runs a cell's stages and their backward.
Its backward is not itself differentiable: create_graph=True raises (use 'reference').

Shapes: T time, B batch, I input, G input projection, S a state's size, R a product's size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..cells.base import CellMath, outer_sum, row_sum
from .base import LayerwiseEngine
from .sequence import keep_rows, pad_rows, step_sizes

BLOCK_ROWS = 1024  # steps * batch per block of the input GEMMs and of the weight-gradient GEMMs


class Fused(LayerwiseEngine):
    name = "fused"

    def run_layer(self, cell, p, x, state, *, batch_sizes, reverse, record):
        T, B = x.shape[:2]
        plan = _Plan(cell, tuple(p), step_sizes(T, B, batch_sizes, reverse), reverse, record, len(state))
        out, *final, trace = _BPTT.apply(plan, x, *state, *p.values())
        return out, tuple(final), trace


@dataclass(frozen=True)
class _Plan:
    """What a run is, besides its tensors: the autograd.Function's first argument."""

    cell: CellMath
    names: tuple[str, ...]  # the parameters, in the order they follow the states
    sizes: list[int]  # active rows at each step, in the order the steps run
    reverse: bool
    record: bool
    n_states: int


_X = 1  # the position of x among _BPTT.apply's arguments


class _BPTT(torch.autograd.Function):
    @staticmethod
    def forward(ctx, plan: _Plan, x: Tensor, *tensors: Tensor):
        cell, sizes, record = plan.cell, plan.sizes, plan.record
        state, weights = tuple(tensors[: plan.n_states]), tensors[plan.n_states:]
        p_raw = dict(zip(plan.names, weights))
        p = cell.prepare(p_raw)
        B = x.shape[1]
        xs = x.flip(0) if plan.reverse else x
        states, saved, outputs, steps = [state], [], [], []
        for n, xw_t in zip(sizes, _projected(cell, p_raw, xs)):
            if n == B:
                state, s = cell.step(p, xw_t, state)
                new = state
            else:  # a packed batch: rows past n have ended (or not yet begun)
                new, s = cell.step(p, xw_t[:n], tuple(a[:n] for a in state))
                state = tuple(keep_rows(a, b) for a, b in zip(new, state))
            states.append(state)
            saved.append(s)
            outputs.append(pad_rows(new[0], B))
            if record:
                steps.append(cell.record(s, new))
        whole = _Stacked([dict(enumerate(s)) for s in states], B)  # state i: (T + 1, B, S), stacked on use
        if all(n == B for n in sizes):
            # the outputs are states[0] of every step: keep them once, in one tensor
            whole[0] = torch.stack([states[0][0], *outputs])
            out = whole[0][1:]
            states[1:] = [(o, *s[1:]) for o, s in zip(out.unbind(0), states[1:])]
        else:
            out = torch.stack(outputs)
        trace = None
        if record:
            trace = {k: v.flip(0) if plan.reverse else v for k, v in _Stacked(steps, B).items()}
        ctx.plan, ctx.states, ctx.saved, ctx.whole = plan, states, saved, whole
        # Saved through autograd, so that editing the output in place raises instead of
        # corrupting the backward; the final state goes out as a copy for the same reason.
        ctx.save_for_backward(xs, whole[0] if 0 in whole else None, *weights)
        return (out.flip(0) if plan.reverse else out, *(s.clone() for s in state), trace)

    @staticmethod
    def backward(ctx, dout, *dfinal):
        refuse_double_backward("fused")
        plan, states, saved = ctx.plan, ctx.states, ctx.saved
        cell = plan.cell
        xs, outputs, *weights = ctx.saved_tensors
        if outputs is not None:
            ctx.whole[0] = outputs
        p = cell.prepare(dict(zip(plan.names, weights)))
        T, B = xs.shape[:2]
        douts = (dout.flip(0) if plan.reverse else dout).unbind(0)
        dstate = tuple(d if d is not None else s.new_zeros(s.shape) for d, s in zip(dfinal[: plan.n_states], states[-1]))
        dx = xs.new_empty(xs.shape) if ctx.needs_input_grad[_X] else None
        grads, extras, drhs = {}, [None] * T, [None] * T
        steps = block_steps(B)
        for t1 in range(T, 0, -steps):  # blocks of steps [t0, t1), the last first
            t0 = max(0, t1 - steps)
            dxw, dstate = _steps_back(ctx, p, douts, dstate, drhs, extras, t0, t1, B)
            block = _block_grads(cell, p, ctx.whole, saved, drhs, extras, dxw, xs, t0, t1, B)
            grads = {k: grads[k] + g for k, g in block.items()} if grads else block
            if dx is not None:
                torch.matmul(dxw, p[cell.input_weight], out=dx[t0:t1])  # the input gradient, one GEMM per block
        if dx is not None and plan.reverse:
            dx = dx.flip(0)
        return (None, dx, *dstate, *(grads[k] for k in plan.names))


def refuse_double_backward(engine: str) -> None:
    """A hand backward is not itself differentiable: backward(create_graph=True) raises."""
    if torch.is_grad_enabled():
        raise RuntimeError(
            f"rnnkit's {engine} engine computes gradients by hand and cannot be differentiated twice "
            "(create_graph=True); use engine='reference' for higher-order gradients"
        )


def _steps_back(ctx, p, douts, dstate, drhs, extras, t0, t1, B):
    """Steps t1 - 1 down to t0 back, by the cell's hand backward: (dL/dxw of the block
    (steps, B, G), dL/dstate before step t0); each step's product gradients and extras
    are left in drhs and extras."""
    cell, sizes, states, saved = ctx.plan.cell, ctx.plan.sizes, ctx.states, ctx.saved
    dxw = [None] * (t1 - t0)
    for t in range(t1 - 1, t0 - 1, -1):
        n = sizes[t]
        if n == B:
            dnew = (dstate[0] + douts[t], *dstate[1:])
            dxw[t - t0], dstate, drhs[t], extras[t] = cell.step_backward(p, dnew, states[t], states[t + 1], saved[t])
        else:  # a packed batch: only the first n rows took part in step t
            dnew = (dstate[0][:n] + douts[t][:n], *(d[:n] for d in dstate[1:]))
            prev, new = tuple(s[:n] for s in states[t]), tuple(s[:n] for s in states[t + 1])
            dxw_t, dprev, drhs[t], extras[t] = cell.step_backward(p, dnew, prev, new, saved[t])
            dstate = tuple(keep_rows(a, d) for a, d in zip(dprev, dstate))
            dxw[t - t0] = pad_rows(dxw_t, B)
    return torch.stack(dxw), dstate


def _block_grads(cell, p, whole, saved, drhs, extras, dxw, xs, t0, t1, B) -> dict[str, Tensor]:
    """The weight gradients of steps [t0, t1): a sum over the block's steps, so one GEMM
    per weight (dW = sum_t drh_t^T a_t), each product's rows put together."""
    prev, new = _Slices(whole, slice(t0, t1)), _Slices(whole, slice(t0 + 1, t1 + 1))
    block_saved = _Stacked(saved[t0:t1], B)
    parts: dict[str, list[tuple[int, Tensor]]] = {cell.input_weight: [(0, outer_sum(dxw, xs[t0:t1]))]}
    if cell.input_bias in p:
        parts[cell.input_bias] = [(0, row_sum(dxw))]
    for k, product in enumerate(cell.products):
        drh = dxw if product.plus_input else torch.stack([pad_rows(d[k], B) for d in drhs[t0:t1]])
        operand = prev[0] if k == 0 else block_saved[f"a{k}"]  # (steps, B, K)
        start = product.rows[0] if product.rows else 0
        parts.setdefault(product.weight, []).append((start, outer_sum(drh, operand)))
        if product.bias and product.bias in p:
            parts.setdefault(product.bias, []).append((start, row_sum(drh)))
    grads = {name: torch.cat([g for _, g in sorted(rows, key=lambda r: r[0])]) for name, rows in parts.items()}
    grads |= cell.pointwise_parameter_grads(p, prev, new, block_saved, dxw, _Stacked(extras[t0:t1], B))
    return grads


def _projected(cell, p, xs):
    """xw_t = W x_t + b for each step, from one GEMM per block of steps (of BLOCK_ROWS
    rows): as fast as one GEMM for all, without holding all of xw (T, B, G) at once."""
    for block in xs.split(block_steps(xs.shape[1])):
        yield from cell.project_input(p, block).unbind(0)


def block_steps(B: int) -> int:
    """Steps per block: BLOCK_ROWS rows of a batch of B."""
    return max(1, BLOCK_ROWS // B)


class _Stacked(dict):
    """A list over time of {name: (n_t, F)}, seen as {name: (T, B, F)} (zeros for inactive
    rows); each name is stacked on first use, so what the backward ignores costs nothing."""

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
