"""Elman RNN (Elman 1990), PyTorch's nn.RNN:

    h' = act(W_ih x + b_ih + W_hh h + b_hh)

Shapes: B batch, I input, H hidden.  weight_ih (H, I), weight_hh (H, H), biases (H,).
"""

from __future__ import annotations

import torch

from .activations import get_activation
from .base import CellMath, outer_sum, row_sum


class ElmanMath(CellMath):
    folded_bias = "bias_hh"  # xw = W_ih x + b_ih + b_hh

    def __init__(self, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh"):
        super().__init__(hidden_size, bias)
        self.act = get_activation(nonlinearity, "nonlinearity")

    def parameter_shapes(self, input_size):
        H = self.hidden_size
        shapes = {"weight_ih": (H, input_size), "weight_hh": (H, H)}
        if self.bias:
            shapes |= {"bias_ih": (H,), "bias_hh": (H,)}
        return shapes

    def prepare(self, p):
        return p | {"W_hh^T": p["weight_hh"].t()}

    def step(self, p, xw, state):
        (h,) = state
        h = self.act(torch.addmm(xw, h, p["W_hh^T"]))
        return (h,), {}

    def step_backward(self, p, dnew, state, new, gates):
        (dh,), (h,) = dnew, new
        da = self.act.backward(h, dh)  # through act: da = dL/d(pre-activation)
        return da, (da @ p["weight_hh"],), {}  # the recurrent product carries dh back

    def parameter_grads(self, p, prev, new, gates, dxw, extras):
        grads = {"weight_hh": outer_sum(dxw, prev[0])}
        if self.bias:
            grads["bias_hh"] = row_sum(dxw)
        return grads
