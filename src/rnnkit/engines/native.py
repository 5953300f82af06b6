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

from ..cells.base import CellMath, CellSpec
from .base import Engine, Run

# family -> the options torch's kernels have, at the only values they have them
_FIXED = {
    "LSTM": {"activation": "tanh", "recurrent_activation": "sigmoid", "peephole": False, "forget_gate": True},
    "GRU": {"reset_after": True, "activation": "tanh", "recurrent_activation": "sigmoid"},
    "Elman": {},
}


def _mode(spec: CellSpec) -> str | None:
    """torch.nn's name of the network (its `mode`); None for an Elman activation torch lacks."""
    if spec.family == "Elman":
        return {"tanh": "RNN_TANH", "relu": "RNN_RELU"}.get(spec["nonlinearity"])
    return spec.family


_KERNELS = {"LSTM": _VF.lstm, "GRU": _VF.gru, "RNN_TANH": _VF.rnn_tanh, "RNN_RELU": _VF.rnn_relu}

# The device types on which `flatten` keeps the weights in one buffer: cuDNN's layout on
# CUDA, and on any other type listed here (the tests list "cpu") the weights concatenated
# in `_flat_weights` order, which exercises everything but cuDNN's own layout.
FLATTEN_ON = {"cuda"}


def _unsupported(spec: CellSpec) -> str | None:
    if spec.family not in _FIXED:
        return f"the {spec.family} cell"
    if _mode(spec) is None:
        return f"nonlinearity={spec['nonlinearity']!r}"
    return spec.differs_from(_FIXED[spec.family])


class Native(Engine):
    name = "native"
    records = False

    def unsupported(self, spec, device):
        return _unsupported(spec)

    def run(self, cell, weights, x, hx, *, batch_sizes, num_layers, bidirectional, dropout, train, record):
        flat = [w for p in weights for w in p.values()]  # PyTorch's order: layer, direction, parameter
        if flat[0].device.type in FLATTEN_ON and not _in_one_buffer(flat):  # a parameter was replaced
            flatten(cell, flat, [list(p) for p in weights], num_layers, bidirectional)
        kernel = _KERNELS[_mode(cell.spec)]
        state = tuple(hx) if len(hx) > 1 else hx[0]
        args = (flat, cell.spec.bias, num_layers, dropout, train, bidirectional)
        if batch_sizes is None:
            out, *h_n = kernel(x, state, *args, False)
        else:
            mask = (torch.arange(x.shape[1], device=batch_sizes.device) < batch_sizes[:, None]).to(x.device)  # (T, B)
            data, *h_n = kernel(x[mask], batch_sizes, state, *args)
            out = data.new_zeros(*mask.shape, data.shape[-1]).index_put((mask,), data)
        return Run(out, h_n, None)


def flatten(cell: CellMath, weights: list, per_direction: list[list], num_layers: int, bidirectional: bool) -> bool:
    """Copy `weights` (every layer-direction's parameters, in torch's order) into one new
    buffer and make each parameter a view of its part, as torch.nn.RNNBase.flatten_parameters
    does; True when it did. `per_direction` holds the names of one layer-direction's weights
    each. Nothing is done for a network torch has no kernel for, on a device type not in
    FLATTEN_ON, on CUDA where cuDNN cannot run the weights, and when the weights are not all
    leaf tensors of one dtype and device or two of them alias (a weight computed from
    another, as weight drop does, must stay what it is)."""
    spec = cell.spec
    if _unsupported(spec) or not all(isinstance(w, Tensor) and w.is_leaf for w in weights):
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
            input_size = weights[0].shape[1]  # weight_ih_l0 (G, I)
            with torch.cuda.device_of(first):
                torch._cudnn_rnn_flatten_weight(
                    weights, len(per_direction[0]), input_size, torch.backends.cudnn.rnn.get_cudnn_mode(_mode(spec)),
                    spec.hidden_size, spec["proj_size"] if spec.family == "LSTM" else 0, num_layers, False, bidirectional,
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
