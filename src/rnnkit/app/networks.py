"""The one registry of network names every application offers, and the state they carry.

A name (``--cell lstm-peephole``) maps to the rnnkit layer it builds; an application passes
the sizes and the layer options it wants (layers, batch_first, dropout, engine). The state a
layer returns is a tensor, or for the LSTM the tuple (h, c); the helpers below treat both.
"""
from __future__ import annotations

import torch
from torch import nn

import rnnkit

from .errors import UserError

# name -> constructor(input_size, hidden_size, **layer options)
NETWORKS = {
    "lstm": lambda i, h, **kw: rnnkit.LSTM(i, h, **kw),
    "lstm-peephole": lambda i, h, **kw: rnnkit.LSTM(i, h, peephole=True, **kw),
    "lstm-no-forget": lambda i, h, **kw: rnnkit.LSTM(i, h, forget_gate=False, **kw),
    "gru": lambda i, h, **kw: rnnkit.GRU(i, h, **kw),
    "gru-reset-before": lambda i, h, **kw: rnnkit.GRU(i, h, reset_after=False, **kw),
    "rnn": lambda i, h, **kw: rnnkit.RNN(i, h, **kw),
    "rnn-relu": lambda i, h, **kw: rnnkit.RNN(i, h, nonlinearity="relu", **kw),
    "jordan": lambda i, h, **kw: rnnkit.JordanRNN(i, h, h, **kw),  # fed-back output as wide as the hidden layer
    "ctrnn": lambda i, h, **kw: rnnkit.CTRNN(i, h, **kw),
}
NAMES = tuple(NETWORKS)
ENGINES = rnnkit.engines.NAMES  # how a network may be run: auto, reference, fused, native


def build(name: str, input_size: int, hidden_size: int, **options) -> nn.Module:
    """The network ``name`` of the registry; a UserError for an unknown name or options it refuses."""
    if name not in NETWORKS:
        raise UserError(f"unknown network {name!r}; choose from {', '.join(NAMES)}")
    try:
        return NETWORKS[name](input_size, hidden_size, **options)
    except ValueError as e:
        raise UserError(f"cannot build a {name} network: {e}") from None


def detach(state):
    """The carried state cut from the graph; LSTM's is a tuple (h, c), the others' a tensor."""
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def state_tensors(state) -> list[torch.Tensor]:
    return list(state) if isinstance(state, tuple) else [state]


def state_from_tensors(tensors: list[torch.Tensor]):
    return tuple(tensors) if len(tensors) > 1 else tensors[0]


def output_state(state) -> torch.Tensor:
    """The layer's output state (L*D, B, S) out of what it returns as its state: h, or y for Jordan."""
    return state[0] if isinstance(state, tuple) else state
