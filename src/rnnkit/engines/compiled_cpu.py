"""The compiled CPU engine: the fused engine's time loop and hand BPTT, in C++.

The loop, the input projection (one GEMM per block of steps, with the cell's
`projection_bias`), the recurrent products (GEMMs on the active rows), packing, both
directions and the weight gradients (one GEMM per weight and block of steps) are
`kernels/cpu/loop.h`, written once; each cell's pointwise stages and their backward are a
C++ header per cell family in `kernels/cpu/`, a line-by-line transcription of the cell's
file in `cells/` (tests/test_compiled_cpu.py holds each stage equal to the Python cell's).
Here: the cell's options and prepared weights handed to C++, and the gradients put back
under the parameters' names.

Built on first use (`rnnkit.kernels`); where it cannot be built, `unsupported` says why and
`auto` runs the fused engine. It runs float32 and float64 (other dtypes run the fused
engine) and records what the cell's `record` shows (each C++ cell's `record`). Its backward
is not itself differentiable.

Shapes: T time, B batch, I input, G input projection, S a state's size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import kernels
from ..cells.activations import ACTIVATIONS
from ..cells.base import CellMath
from . import fused
from .base import LayerwiseEngine

COMPILED = ("LSTM", "GRU", "Elman", "Jordan", "CTRNN")  # the cell families kernels/cpu has


class CompiledCPU(LayerwiseEngine):
    name = "compiled"

    def unsupported(self, spec, device):
        if device.type != "cpu":
            return f"a {device.type} device (it runs on the CPU)"
        if spec.family not in COMPILED:
            return f"the {spec.family} cell, not compiled yet"
        return kernels.cpu_unavailable()

    def run_layer(self, cell, p, x, state, *, batch_sizes, reverse, record):
        if x.dtype not in (torch.float32, torch.float64):
            return fused.Fused().run_layer(cell, p, x, state, batch_sizes=batch_sizes, reverse=reverse, record=record)
        # inside autograd.Function.forward, needs_input_grad is True even under no_grad
        gradient = torch.is_grad_enabled() and any(t.requires_grad for t in (x, *state, *p.values()))
        plan = _Plan(cell, tuple(p), batch_sizes or [], reverse, record, len(state), gradient)
        out, *final, trace = _BPTT.apply(plan, x.contiguous(), *state, *p.values())
        return out, tuple(final), trace


def pointwise_names(cell: CellMath, p) -> list[str]:
    """The parameters used inside the pointwise stages (peepholes, log_tau): neither the
    input projection's nor a product's."""
    used = {cell.input_weight, cell.input_bias} | {n for pr in cell.products for n in (pr.weight, pr.bias)}
    return [name for name in p if name not in used]


def cell_args(cell: CellMath, p, prepared) -> tuple:
    """What the C++ cell is built from (kernels/cpu/cell.h, Options): the family, the hidden
    size, the spec's options in order (activations by their index in ACTIVATIONS, flags and
    sizes as integers; floats apart), and the tensors its stages read: its pointwise
    parameters, then what its prepare_pointwise adds."""
    ints, floats = [], []
    for _, value in cell.spec.options:
        if isinstance(value, str):
            ints.append(list(ACTIVATIONS).index(value))
        elif isinstance(value, float):
            floats.append(value)
        else:
            ints.append(int(value))
    tensors = [p[name] for name in pointwise_names(cell, p)]
    tensors += [v for k, v in prepared.items() if isinstance(k, str) and k not in p]
    return cell.spec.family, cell.hidden_size, ints, floats, tensors


@dataclass(frozen=True)
class _Plan:
    cell: CellMath
    names: tuple[str, ...]  # the parameters, in the order they follow the states
    sizes: list[int]  # a packed batch's active rows at each time step; empty if not packed
    reverse: bool
    record: bool
    n_states: int
    gradient: bool  # a backward may follow: every step's states and saved values are kept


class _BPTT(torch.autograd.Function):
    @staticmethod
    def forward(ctx, plan: _Plan, x, *tensors):
        cell, n = plan.cell, plan.n_states
        state, weights = tensors[:n], tensors[n:]
        p = dict(zip(plan.names, weights))
        prepared = cell.prepare(p)
        products = [prepared[product] for product in cell.products]
        args = cell_args(cell, p, prepared)
        out, *rest = kernels.cpu_ops().forward(
            *args, x, p[cell.input_weight], cell.projection_bias(p), list(state),
            [pr.W for pr in products], [pr.b for pr in products], [pr.plus_input for pr in cell.products],
            plan.sizes, plan.reverse, plan.gradient or plan.record, fused.block_steps(x.shape[1]),
        )
        final, kept = rest[:n], rest[n:]  # kept: the states (T + 1, B, S), saved, the later products' operands
        trace = _trace(cell, args, kept, plan) if plan.record else None
        if plan.gradient:
            ctx.plan = plan
            # Saved through autograd, so that editing the output (a view of the states) in place
            # raises instead of corrupting the backward; the final state goes out as a copy.
            ctx.save_for_backward(x, *kept, *weights)
        return (out, *(s.clone() for s in final), trace)

    @staticmethod
    def backward(ctx, dout, *dfinal_and_trace):
        fused.refuse_double_backward("compiled")
        plan = ctx.plan
        cell, n, K = plan.cell, plan.n_states, len(plan.cell.products)
        x, *kept = ctx.saved_tensors
        states, saved, operands, weights = kept[:n], kept[n], kept[n + 1: n + K], kept[n + K:]
        p = dict(zip(plan.names, weights))
        prepared = cell.prepare(p)
        T, B = x.shape[:2]
        dout = dout if dout is not None else x.new_zeros(T, B, states[0].shape[-1])
        dfinal = [d if d is not None else s[0].new_zeros(s[0].shape) for d, s in zip(dfinal_and_trace, states)]
        dx, *rest = kernels.cpu_ops().backward(
            *cell_args(cell, p, prepared), x, p[cell.input_weight], dout, dfinal, list(states), saved, list(operands),
            [prepared[product].W for product in cell.products], [product.plus_input for product in cell.products],
            plan.sizes, plan.reverse, fused.block_steps(B), ctx.needs_input_grad[1],
        )
        dstate, (dW_ih, db_ih), per_product, own = rest[:n], rest[n: n + 2], rest[n + 2: n + 2 + 2 * K], rest[n + 2 + 2 * K:]
        grads = {cell.input_weight: dW_ih, cell.input_bias: db_ih}
        rows: dict[str, list] = {}
        for product, dW, db in zip(cell.products, per_product[::2], per_product[1::2]):
            start = product.rows[0] if product.rows else 0
            rows.setdefault(product.weight, []).append((start, dW))
            if product.bias:
                rows.setdefault(product.bias, []).append((start, db_ih if product.plus_input else db))
        grads |= {name: torch.cat([g for _, g in sorted(parts, key=lambda r: r[0])]) for name, parts in rows.items()}
        grads |= dict(zip(pointwise_names(cell, p), own))
        return (None, dx if ctx.needs_input_grad[1] else None, *dstate, *(grads[name] for name in plan.names))


def _trace(cell, args, kept, plan) -> dict:
    """The cell's recorded values of every step (T, B, F), zeros where a packed sequence has ended."""
    states, saved = kept[: plan.n_states], kept[plan.n_states]
    T, B = saved.shape[:2]
    new = [s[:T] if plan.reverse else s[1:] for s in states]  # the states after each step
    values = kernels.cpu_ops().record(*args, saved, new)
    if plan.sizes:
        active = torch.arange(B) < torch.tensor(plan.sizes)[:, None]  # (T, B)
        return {k: v * active[..., None].to(v.dtype) for k, v in zip(cell.recorded, values)}
    return {k: v.clone() for k, v in zip(cell.recorded, values)}
