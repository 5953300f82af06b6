"""A trained char-LM as an ONNX file that onnxruntime runs alone (`rnnkit export`, rnnkit.app.export).

The file computes one call of the model: inputs `ids` (B, T) int64 and the network's state
(one input per state, named after it: `h`, `c` for an LSTM, `y` for Jordan; zeros to
start), outputs `logits` (B, T, V) and the state after the last step (`h_n`, `c_n`, ...).
Any batch size and length. Its metadata holds the vocabulary (`vocab`, a JSON list: id ->
character), so a sampler needs nothing else (docs/interop.md).
"""
from __future__ import annotations

import json
import warnings

import torch
from torch import nn

from rnnkit.app import networks
from rnnkit.interop import onnx as rnnkit_onnx

from .model import load_model


class _Call(nn.Module):
    """The model with its state as separate tensors: (ids, *state) -> (logits, *state)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, ids, *state):
        logits, state = self.model(ids, networks.state_from_tensors(list(state)))
        return (logits, *networks.state_tensors(state))


def write_onnx(model, vocab, path: str) -> None:
    """Write `model` (a CharLM) and its vocabulary to the ONNX file `path`."""
    rnn = model.rnn
    states = rnn.cell.states
    example = (torch.zeros(2, 3, dtype=torch.long),  # sizes of 0 or 1 would be taken as fixed
               *(torch.zeros(rnn.num_layers * (1 + rnn.bidirectional), 2, size) for size in rnn.cell.state_sizes()))
    B, T = torch.export.Dim("B"), torch.export.Dim("T")
    with warnings.catch_warnings():  # the exporter's notes on its own internals
        warnings.simplefilter("ignore")
        program = rnnkit_onnx.export(
            _Call(model).eval(), example, input_names=["ids", *states], output_names=["logits", *(f"{s}_n" for s in states)],
            dynamic_shapes=({0: B, 1: T}, tuple({1: B} for _ in states)), verbose=False,
        )
    program.model.metadata_props["vocab"] = json.dumps(vocab.chars)
    program.save(path)


def export_onnx(meta: dict, tensors: dict[str, torch.Tensor], path: str) -> None:
    """Write the char-LM of a checkpoint (its JSON and verified tensors) to the ONNX file `path`."""
    model, vocab, _ = load_model(meta, tensors, torch.device("cpu"))
    write_onnx(model.eval(), vocab, path)
