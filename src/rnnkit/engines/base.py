"""The engine protocol: what every engine is asked and how it runs a whole stack.

    engine.unsupported(spec, device)  -> None, or why it cannot run a cell of that spec
    engine.run(cell, weights, x, hx, batch_sizes=..., num_layers=..., bidirectional=...,
               dropout=..., train=..., record=...) -> Run(output, h_n, recording)

weights holds one dict of parameters per layer and direction (l0, l0_reverse, l1, ...),
each in PyTorch's registration order, without the layer suffix; x is (T, B, I)
time-major and padded; batch_sizes, for a packed batch, the number of active rows at
each step (a 1-D tensor, as in a PackedSequence); hx one (L*D, B, S) tensor per state.
dropout applies between layers when train is true. A recording maps 'l{k}' and
'l{k}_reverse' to the cell's recorded values, each (T, B, F).

Most engines run one layer and direction at a time: they subclass `LayerwiseEngine` and
write only `run_layer`; the stack, both directions and the dropout between layers are
written once here.

Shapes: T time, B batch, I input, S a state's size, O a layer's output, L layers, D directions.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ..cells.base import CellMath, CellSpec, Params, State


class Run(NamedTuple):
    output: Tensor  # (T, B, D*O): the last layer's output, both directions concatenated
    h_n: list[Tensor]  # one (L*D, B, S) per state
    recording: dict[str, dict[str, Tensor]] | None  # 'l{k}[_reverse]' -> name -> (T, B, F)


class Engine:
    name = ""
    records = True  # whether it can record the cell's gates and states

    def unsupported(self, spec: CellSpec, device: torch.device) -> str | None:
        """None when this engine can run a cell of `spec` on `device`, else why not."""
        return None

    def run(
        self, cell: CellMath, weights: list[Params], x: Tensor, hx: list[Tensor], *,
        batch_sizes: Tensor | None, num_layers: int, bidirectional: bool, dropout: float, train: bool, record: bool,
    ) -> Run:
        raise NotImplementedError


class LayerwiseEngine(Engine):
    def run(self, cell, weights, x, hx, *, batch_sizes, num_layers, bidirectional, dropout, train, record):
        D = 2 if bidirectional else 1
        sizes = batch_sizes.tolist() if batch_sizes is not None else None
        finals, recording = [], {} if record else None
        for k in range(num_layers):
            outputs = []
            for d in range(D):
                i = k * D + d
                out, final, trace = self.run_layer(
                    cell, weights[i], x, tuple(h[i] for h in hx), batch_sizes=sizes, reverse=bool(d), record=record
                )
                outputs.append(out)
                finals.append(final)
                if record:
                    recording[f"l{k}" + ("_reverse" if d else "")] = trace
            x = outputs[0] if D == 1 else torch.cat(outputs, -1)
            if dropout and train and k < num_layers - 1:
                x = F.dropout(x, dropout, True)
        return Run(x, [torch.stack(s) for s in zip(*finals)], recording)

    def run_layer(
        self, cell: CellMath, p: Params, x: Tensor, state: State, *,
        batch_sizes: list[int] | None, reverse: bool, record: bool,
    ) -> tuple[Tensor, State, dict[str, Tensor] | None]:
        """One layer in one direction: (outputs (T, B, O), final state, recording or None).
        x (T, B, I); state, one (B, S) per state."""
        raise NotImplementedError
