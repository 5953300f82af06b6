"""The native engine: torch's own kernels (oneDNN on CPU, cuDNN on GPU) for the
configurations torch.nn implements: the standard LSTM (proj_size included), the GRU with
the reset gate after the product, and the Elman RNN with tanh or relu; each with its
default activations. It runs the whole stack of layers and directions in one call,
exactly as torch.nn does, and cannot record gates.
"""

from __future__ import annotations

from torch import Tensor, _VF

from ..cells import ElmanMath, GRUMath, LSTMMath
from ..cells.base import CellMath

name = "native"


def unsupported(cell: CellMath) -> str | None:
    """Why torch has no kernel for this cell, or None when it has one."""
    if type(cell) is LSTMMath:
        for option, value, default in (
            ("activation", cell.act.name, "tanh"),
            ("recurrent_activation", cell.ract.name, "sigmoid"),
            ("peephole", cell.peephole, False),
            ("forget_gate", cell.forget_gate, True),
        ):
            if value != default:
                return f"{option}={value!r}"
        return None
    if type(cell) is GRUMath:
        for option, value, default in (
            ("reset_after", cell.reset_after, True),
            ("activation", cell.act.name, "tanh"),
            ("recurrent_activation", cell.ract.name, "sigmoid"),
        ):
            if value != default:
                return f"{option}={value!r}"
        return None
    if type(cell) is ElmanMath:
        return None if cell.act.name in ("tanh", "relu") else f"nonlinearity={cell.act.name!r}"
    return f"the {type(cell).__name__[: -len('Math')]} cell"


def _kernel(cell: CellMath):
    if isinstance(cell, LSTMMath):
        return _VF.lstm
    if isinstance(cell, GRUMath):
        return _VF.gru
    return _VF.rnn_tanh if cell.act.name == "tanh" else _VF.rnn_relu


def run_stack(layer, x: Tensor, hx: list[Tensor], batch_sizes: Tensor | None, mask: Tensor | None):
    """Every layer and direction of `layer` at once: x (T, B, I) time-major, padded, with
    `mask` (T, B) marking the real steps of a packed batch -> (output (T, B, D*O), h_n)."""
    weights = [getattr(layer, full) for names in layer._names for full in names.values()]
    state = tuple(hx) if len(hx) > 1 else hx[0]
    args = (weights, layer.bias, layer.num_layers, layer.dropout, layer.training, layer.bidirectional)
    if batch_sizes is None:
        out, *h_n = _kernel(layer.cell)(x, state, *args, False)
    else:
        data, *h_n = _kernel(layer.cell)(x[mask], batch_sizes, state, *args)
        out = data.new_zeros(*mask.shape, data.shape[-1]).index_put((mask,), data)
    return out, h_n
