"""ONNX export of rnnkit's layers through torch.onnx.export (the dynamo exporter).

Under `torch.onnx.export` (`torch.compiler.is_exporting()`), a layer's forward hands its
stack to `exported_run` instead of an engine (layers.py), which takes one of two routes:

- **native**: a cell whose equations ONNX has as an operator, exactly (`native(spec)`),
  becomes the custom op `rnnkit::recurrent`; `translations()` turns that op into one ONNX
  `LSTM`, `GRU` or `RNN` node per layer, both directions in one node, its weights
  reordered to ONNX's gate order by the cell's `gate_rows`, lengths as `sequence_lens`;
- **scan**: any other cell runs its own `step` under torch's `scan`, which the exporter
  writes as an ONNX `Scan` whose body is that one traced step.

Either way the graph takes any batch size and sequence length. Lengths (a PackedSequence's)
hold a finished sequence's state and zero its outputs, as the engines do.

    native                                         ONNX node, attributes
    Elman (RNN)                                    RNN, activations [act]
    GRU, reset_after=True / False                  GRU, linear_before_reset=1 / 0, gates z, r, h
    LSTM (proj_size=0), peephole, forget_gate      LSTM, gates i, o, f, c; peepholes P = (i, o, f)
    activations tanh, sigmoid, relu,               Tanh, Sigmoid, Relu,
                identity, hardsigmoid              Affine(1, 0), HardSigmoid(1/6, 1/2)

The LSTM without a forget gate (c' = c + i g) is the LSTM node with the forget gate held
at 1: zero weights, peephole and input bias, and a recurrent bias b with
recurrent_activation(b) = 1 in float32 (`_FORGET_OPEN`).
"""

import json
from typing import Optional

import torch
from torch import Tensor
from torch._higher_order_ops.scan import scan

from .. import cells
from ..cells.base import CellMath, CellSpec

# rnnkit activation -> (ONNX activation, alpha, beta) as the ONNX RNN operators name them
ONNX_ACTIVATIONS = {
    "tanh": ("Tanh", 0.0, 0.0),
    "sigmoid": ("Sigmoid", 0.0, 0.0),
    "relu": ("Relu", 0.0, 0.0),
    "identity": ("Affine", 1.0, 0.0),  # alpha x + beta
    "hardsigmoid": ("HardSigmoid", 1 / 6, 0.5),  # clamp(alpha x + beta, 0, 1); ONNX's default alpha is 0.2
}

_SCALED = ("Affine", "HardSigmoid")  # the ONNX activations above that take alpha and beta

# a pre-activation b with act(b) = 1 exactly in float32: the forget gate of an LSTM without one
_FORGET_OPEN = {"sigmoid": 100.0, "tanh": 100.0, "hardsigmoid": 100.0, "relu": 1.0, "identity": 1.0}

_ONNX_GATES = {"LSTM": ("i", "o", "f", "g"), "GRU": ("z", "r", "n")}  # rnnkit's gate names in ONNX's order
_OP = {"Elman": "RNN", "GRU": "GRU", "LSTM": "LSTM"}


def native(spec: CellSpec) -> Optional[str]:
    """The ONNX operator ("LSTM", "GRU", "RNN") that computes this cell exactly, or None."""
    if spec.family == "LSTM" and spec["proj_size"]:
        return None  # ONNX's LSTM has no projection
    return _OP.get(spec.family)


def cell_from_spec(spec: CellSpec) -> CellMath:
    """The cell math a spec describes (its options are its constructor's arguments)."""
    family = {c.family: c for c in (cells.ElmanMath, cells.LSTMMath, cells.GRUMath, cells.JordanMath, cells.CTRNNMath)}
    return family[spec.family](spec.hidden_size, bias=spec.bias, **dict(spec.options))


def exported_run(cell, weights, x, hx, lengths, num_layers, bidirectional, dropout, training, record):
    """The stack as torch.onnx.export records it: (output (T, B, D*O), h_n, one (L*D, B, S)
    per state). x is time-major, padded; lengths (B,) or None; hx in the batch's order."""
    if record:
        raise ValueError("rnnkit.record is on: a recording cannot be exported, export outside `with rnnkit.record(...)`")
    if training and dropout > 0 and num_layers > 1:
        raise ValueError(
            f"dropout={dropout} acts in training mode and cannot be exported: call model.eval() before torch.onnx.export"
        )
    if native(cell.spec):
        spec = json.dumps({"family": cell.spec.family, "hidden_size": cell.hidden_size, "bias": cell.bias,
                           "options": dict(cell.spec.options)})
        flat = [w for p in weights for w in p.values()]
        output, *h_n = torch.ops.rnnkit.recurrent(x, list(hx), lengths, flat, spec, num_layers, bidirectional)
        return output, h_n
    return run_stack(cell, weights, x, hx, lengths, num_layers, bidirectional)


def run_stack(cell, weights, x, hx, lengths, num_layers, bidirectional):
    """Every layer and direction over the padded x, each step the cell's own `step`:
    under export a torch `scan` (an ONNX Scan), else a Python loop."""
    D = 2 if bidirectional else 1
    mask = None if lengths is None else (torch.arange(x.shape[0], device=x.device)[:, None] < lengths).unsqueeze(-1)
    finals = []
    for layer in range(num_layers):
        outputs = []
        for d in range(D):
            k = layer * D + d
            output, final = _run_direction(cell, weights[k], x, [h[k] for h in hx], mask, reverse=d == 1)
            outputs.append(output)
            finals.append(final)
        x = torch.cat(outputs, -1) if D == 2 else outputs[0]
    return x, [torch.stack([f[s] for f in finals]) for s in range(len(hx))]


def _run_direction(cell, p, x, state, mask, reverse):
    """(output (T, B, O), final state) of one layer in one direction. Past a sequence's
    length (mask False) the state is kept and the output is zero, so the reverse direction
    starts each sequence at its own end."""
    xw = cell.project_input(p, x)
    p = cell.prepare(p)

    def step(state, inputs):
        new, _ = cell.step(p, inputs[0], tuple(state))
        if mask is None:
            return list(new), new[0].clone()  # scan's outputs may not alias its carry
        m = inputs[1]
        return [torch.where(m, n, s) for n, s in zip(new, state)], torch.where(m, new[0], 0.0)

    loop = scan if torch.compiler.is_exporting() else _loop
    final, output = loop(step, list(state), (xw,) if mask is None else (xw, mask), reverse=reverse)
    return output, final


def _loop(step, init, xs, reverse):
    """scan's semantics, eagerly: (final carry, outputs stacked over time)."""
    T = xs[0].shape[0]
    carry, outputs = init, [None] * T
    for t in reversed(range(T)) if reverse else range(T):
        carry, outputs[t] = step(carry, tuple(v[t] for v in xs))
    return carry, torch.stack(outputs)


def _spec(text: str) -> CellMath:
    s = json.loads(text)
    return cell_from_spec(CellSpec(s["family"], s["hidden_size"], s["bias"], tuple(s["options"].items())))


def _grouped(cell: CellMath, flat: list[Tensor]) -> list[dict[str, Tensor]]:
    """The flat weight list back as one {name: tensor} per layer-direction."""
    names = list(cell.parameter_shapes(1))
    return [dict(zip(names, flat[k : k + len(names)])) for k in range(0, len(flat), len(names))]


@torch.library.custom_op("rnnkit::recurrent", mutates_args=())
def _recurrent(
    x: Tensor, hx: list[Tensor], lengths: Optional[Tensor], weights: list[Tensor], cell: str, num_layers: int,
    bidirectional: bool,
) -> list[Tensor]:
    """A stack of a native cell: [output, *h_n]; what `translations()` writes as ONNX nodes."""
    c = _spec(cell)
    output, h_n = run_stack(c, _grouped(c, weights), x, hx, lengths, num_layers, bidirectional)
    return [output, *h_n]


@_recurrent.register_fake
def _(x, hx, lengths, weights, cell, num_layers, bidirectional):
    D = 2 if bidirectional else 1
    return [x.new_empty(x.shape[0], x.shape[1], D * _spec(cell).output_size), *(h.new_empty(h.shape) for h in hx)]


def _translate(x, hx, lengths, weights, cell: str, num_layers: int, bidirectional: bool):
    """rnnkit::recurrent as ONNX nodes: one LSTM, GRU or RNN node per layer."""
    from onnxscript import opset18 as op
    from onnx_ir import DataType

    c = _spec(cell)
    kind, D = native(c.spec), 2 if bidirectional else 1
    gates = _ONNX_GATES.get(c.spec.family)
    weights = _grouped(c, list(weights))
    acts = [c.activations[g].name for g in {"RNN": ("h",), "GRU": ("r", "n"), "LSTM": ("i", "g", "g")}[kind]]
    onnx_acts = [ONNX_ACTIVATIONS[a] for a in acts] * D
    seq = None if lengths is None else op.Cast(lengths, to=DataType.INT32)

    def rows(w, gate):
        if gate == "f" and "f" not in c.gate_names:  # no forget gate: zeros
            return op.Expand(op.CastLike(0.0, w), op.Shape(op.Slice(w, [0], [c.hidden_size], [0])))
        s = c.gate_rows(gate)
        return op.Slice(w, [s.start], [s.stop], [0])

    def ordered(w):  # rnnkit's gate rows in ONNX's order (the Elman cell has one gate)
        return op.Concat(*(rows(w, g) for g in gates), axis=0) if gates else w

    def stacked(parts):  # per direction -> (D, ...)
        return op.Concat(*(op.Unsqueeze(t, [0]) for t in parts), axis=0)

    def bias(p):
        b_ih, b_hh = p.get("bias_ih"), p.get("bias_hh")
        if b_ih is None:
            if kind == "LSTM" and "f" not in c.gate_names:
                b_ih = b_hh = op.Expand(op.CastLike(0.0, x), [len(c.gate_names) * c.hidden_size])
            else:
                return None
        b_hh = ordered(b_hh)
        if kind == "LSTM" and "f" not in c.gate_names:  # the forget gate held at act(b) = 1
            H = c.hidden_size
            open_f = op.Expand(op.CastLike(_FORGET_OPEN[c.activations["i"].name], x), [H])
            b_hh = op.Concat(op.Slice(b_hh, [0], [2 * H], [0]), open_f, op.Slice(b_hh, [3 * H], [4 * H], [0]), axis=0)
        return op.Concat(ordered(b_ih), b_hh, axis=0)

    def peepholes(p):  # rnnkit rows (i, f, o) or (i, o) -> ONNX (i, o, f), f zero without a forget gate
        w = p["weight_peephole"]
        row = {g: op.Slice(w, [k], [k + 1], [0]) for k, g in enumerate(("i", "f", "o") if c.forget_gate else ("i", "o"))}
        f = row["f"] if "f" in row else op.Expand(op.CastLike(0.0, w), [1, c.hidden_size])
        return op.Reshape(op.Concat(row["i"], row["o"], f, axis=0), [-1])

    finals = [[] for _ in hx]
    for layer in range(num_layers):
        ps = weights[layer * D : (layer + 1) * D]
        W = stacked([ordered(p["weight_ih"]) for p in ps])
        R = stacked([ordered(p["weight_hh"]) for p in ps])
        biases = [bias(p) for p in ps]
        B = None if biases[0] is None else stacked(biases)
        init = [op.Slice(h, [layer * D], [(layer + 1) * D], [0]) for h in hx]
        attrs = dict(
            hidden_size=c.hidden_size, direction="bidirectional" if D == 2 else "forward",
            activations=[name for name, _, _ in onnx_acts],
            # one alpha and beta for each activation that takes them, in order (as onnxruntime reads them)
            activation_alpha=[a for name, a, _ in onnx_acts if name in _SCALED] or None,
            activation_beta=[b for name, _, b in onnx_acts if name in _SCALED] or None,
        )
        if kind == "LSTM":
            P = stacked([peepholes(p) for p in ps]) if c.peephole else None
            Y, *states = op.LSTM(x, W, R, B, seq, init[0], init[1], P, **attrs)
        elif kind == "GRU":
            Y, *states = op.GRU(x, W, R, B, seq, init[0], linear_before_reset=int(c.reset_after), **attrs)
        else:
            Y, *states = op.RNN(x, W, R, B, seq, init[0], **attrs)
        states = states if isinstance(states, list) else [states]
        for f, s in zip(finals, states):
            f.append(s)
        x = op.Reshape(op.Transpose(Y, perm=[0, 2, 1, 3]), [0, 0, -1])  # (T, D, B, H) -> (T, B, D*H)
    return [x, *(op.Concat(*f, axis=0) if len(f) > 1 else f[0] for f in finals)]


def translations() -> dict:
    """What torch.onnx.export needs to write rnnkit's native layers as ONNX nodes: pass
    it as `custom_translation_table` (`export` does)."""
    return {torch.ops.rnnkit.recurrent.default: _translate}


def export(model, args, f=None, **kwargs):
    """torch.onnx.export(model, args, f, dynamo=True, ...) with rnnkit's translations added."""
    table = translations() | kwargs.pop("custom_translation_table", {})
    return torch.onnx.export(model, args, f, dynamo=True, custom_translation_table=table, **kwargs)
