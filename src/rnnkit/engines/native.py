"""The native engine: torch's own kernels (oneDNN on CPU, cuDNN on GPU) for the
configurations torch.nn implements: the standard LSTM (proj_size included), the GRU with
the reset gate after the product, and the Elman RNN with tanh or relu; each with its
default activations. It runs the whole stack of layers and directions in one call,
exactly as torch.nn does, and cannot record gates.

On CUDA the weights live in one buffer in cuDNN's layout, each parameter a view of its
part, as torch.nn's do (`flatten`); otherwise cuDNN would copy them into one on every call.
"""

from __future__ import annotations

import torch
import torch.backends.cudnn.rnn
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


def _mode(cell: CellMath) -> str:
    """torch.nn's name of the network (its `mode`)."""
    if isinstance(cell, LSTMMath):
        return "LSTM"
    if isinstance(cell, GRUMath):
        return "GRU"
    return "RNN_TANH" if cell.act.name == "tanh" else "RNN_RELU"


_KERNELS = {"LSTM": _VF.lstm, "GRU": _VF.gru, "RNN_TANH": _VF.rnn_tanh, "RNN_RELU": _VF.rnn_relu}

# The device types on which `flatten` keeps the weights in one buffer: cuDNN's layout on
# CUDA, and on any other type listed here (the tests list "cpu") the weights concatenated
# in `_flat_weights` order, which exercises everything but cuDNN's own layout.
FLATTEN_ON = {"cuda"}


def flatten(layer) -> bool:
    """Copy the weights of `layer` into one new buffer and make each parameter a view of its
    part, as torch.nn.RNNBase.flatten_parameters does; True when it did. Nothing is done
    for a network torch has no kernel for, on a device type not in FLATTEN_ON, on CUDA
    where cuDNN cannot run the weights, and when the weights are not all leaf tensors of
    one dtype and device or two of them alias (a weight computed from another, as weight
    drop does, must stay what it is)."""
    weights = layer._flat_weights
    if unsupported(layer.cell) or not all(isinstance(w, Tensor) and w.is_leaf for w in weights):
        return False
    first = weights[0]
    if first.device.type not in FLATTEN_ON or any(w.dtype != first.dtype or w.device != first.device for w in weights):
        return False
    if len({w.data_ptr() for w in weights}) != len(weights):
        return False
    with torch.no_grad():
        if first.is_cuda:
            if not (torch.backends.cudnn.is_acceptable(first) and torch._use_cudnn_rnn_flatten_weight()):
                return False
            proj_size = getattr(layer.cell, "proj_size", 0)
            with torch.cuda.device_of(first):
                torch._cudnn_rnn_flatten_weight(
                    weights,
                    len(layer._all_weights[0]),
                    layer.input_size,
                    torch.backends.cudnn.rnn.get_cudnn_mode(_mode(layer.cell)),
                    layer.hidden_size,
                    proj_size,
                    layer.num_layers,
                    layer.batch_first,
                    layer.bidirectional,
                )
        else:
            buffer = first.new_empty(sum(w.numel() for w in weights))
            offset = 0
            for w in weights:
                buffer[offset : offset + w.numel()].view(w.shape).copy_(w)
                w.set_(buffer.untyped_storage(), offset, w.shape)
                offset += w.numel()
    return True


def _in_one_buffer(weights: list[Tensor]) -> bool:
    storage = weights[0].untyped_storage().data_ptr()
    return all(w.untyped_storage().data_ptr() == storage for w in weights)


def run_stack(layer, x: Tensor, hx: list[Tensor], batch_sizes: Tensor | None, mask: Tensor | None):
    """Every layer and direction of `layer` at once: x (T, B, I) time-major, padded, with
    `mask` (T, B) marking the real steps of a packed batch -> (output (T, B, D*O), h_n)."""
    weights = layer._flat_weights
    if weights[0].device.type in FLATTEN_ON and not _in_one_buffer(weights):  # a parameter was replaced
        layer.flatten_parameters()
        weights = layer._flat_weights
    state = tuple(hx) if len(hx) > 1 else hx[0]
    args = (weights, layer.bias, layer.num_layers, layer.dropout, layer.training, layer.bidirectional)
    if batch_sizes is None:
        out, *h_n = _KERNELS[_mode(layer.cell)](x, state, *args, False)
    else:
        data, *h_n = _KERNELS[_mode(layer.cell)](x[mask], batch_sizes, state, *args)
        out = data.new_zeros(*mask.shape, data.shape[-1]).index_put((mask,), data)
    return out, h_n
