"""The native engine: torch's own kernels (oneDNN on CPU, cuDNN on GPU) for the
configurations torch.nn implements: the standard LSTM (proj_size included), the GRU with
the reset gate after the product, and the Elman RNN with tanh or relu; each with its
default activations. It runs the whole stack of layers and directions in one call,
exactly as torch.nn does, and cannot record gates.
"""

from __future__ import annotations

import torch
from torch import _VF

from .base import Engine, Run

# family -> the options torch's kernels have, at the only values they have them
_FIXED = {
    "LSTM": {"activation": "tanh", "recurrent_activation": "sigmoid", "peephole": False, "forget_gate": True},
    "GRU": {"reset_after": True, "activation": "tanh", "recurrent_activation": "sigmoid"},
    "Elman": {},
}


def _kernel(spec):
    if spec.family == "Elman":
        return {"tanh": _VF.rnn_tanh, "relu": _VF.rnn_relu}.get(spec["nonlinearity"])
    return {"LSTM": _VF.lstm, "GRU": _VF.gru}[spec.family]


class Native(Engine):
    name = "native"
    records = False

    def unsupported(self, spec, device):
        if spec.family not in _FIXED:
            return f"the {spec.family} cell"
        if _kernel(spec) is None:
            return f"nonlinearity={spec['nonlinearity']!r}"
        return spec.differs_from(_FIXED[spec.family])

    def run(self, cell, weights, x, hx, *, batch_sizes, num_layers, bidirectional, dropout, train, record):
        spec = cell.spec
        kernel = _kernel(spec)
        flat = [w for p in weights for w in p.values()]  # PyTorch's order: layer, direction, parameter
        state = tuple(hx) if len(hx) > 1 else hx[0]
        args = (flat, spec.bias, num_layers, dropout, train, bidirectional)
        if batch_sizes is None:
            out, *h_n = kernel(x, state, *args, False)
        else:
            mask = torch.arange(x.shape[1], device=batch_sizes.device) < batch_sizes[:, None]  # (T, B): real steps
            mask = mask.to(x.device)
            data, *h_n = kernel(x[mask], batch_sizes, state, *args)
            out = data.new_zeros(*mask.shape, data.shape[-1]).index_put((mask,), data)
        return Run(out, h_n, None)
