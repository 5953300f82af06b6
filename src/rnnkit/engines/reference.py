"""The reference engine: a Python loop over the cell's step, differentiated by autograd.

It is the executable specification of a cell over a sequence: every other engine is
tested against it. Keep it plain.

Shapes: T time, B batch, I input, G input projection, S a state's size.
"""

from __future__ import annotations

import torch

from .base import LayerwiseEngine
from .sequence import keep_rows, pad_rows, rows, step_sizes


class Reference(LayerwiseEngine):
    name = "reference"

    def run_layer(self, cell, p, x, state, *, batch_sizes, reverse, record):
        T, B = x.shape[:2]
        if reverse:
            x = x.flip(0)
        xw = cell.project_input(p, x)  # (T, B, G)
        p = cell.prepare(p)
        outputs, steps = [], []
        for n, xw_t in zip(step_sizes(T, B, batch_sizes, reverse), xw.unbind(0)):
            new, saved = cell.step(p, rows(xw_t, n), tuple(rows(s, n) for s in state))
            state = tuple(keep_rows(a, s) for a, s in zip(new, state))
            outputs.append(pad_rows(new[0], B))
            if record:
                steps.append({k: pad_rows(v, B) for k, v in cell.record(saved, new).items()})
        out = torch.stack(outputs)
        trace = {k: torch.stack([s[k] for s in steps]) for k in steps[0]} if record else None
        if reverse:
            out = out.flip(0)
            trace = trace and {k: v.flip(0) for k, v in trace.items()}
        return out, state, trace
