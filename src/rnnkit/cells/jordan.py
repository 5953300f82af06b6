"""Jordan RNN (Jordan 1986): the output, not the hidden state, is fed back.

    h  = act(W_ih x + W_hy y + b_h)
    y' = out_act(W_ho h + b_o)

Shapes: B batch, I input, H hidden, O output.
weight_ih (H, I), weight_hy (H, O), bias_h (H,), weight_ho (O, H), bias_o (O,).
"""

from __future__ import annotations

import torch

from .activations import get_activation
from .base import CellMath, outer_sum, row_sum


class JordanMath(CellMath):
    gates = ("h",)
    states = ("y",)
    input_bias = "bias_h"

    def __init__(
        self,
        hidden_size: int,
        output_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        output_activation: str = "identity",
    ):
        super().__init__(hidden_size, bias)
        self.out_size = output_size
        self.act = get_activation(nonlinearity, "nonlinearity")
        self.out_act = get_activation(output_activation, "output_activation")

    def parameter_shapes(self, input_size):
        H, O = self.hidden_size, self.out_size
        shapes = {"weight_ih": (H, input_size), "weight_hy": (H, O)}
        if self.bias:
            shapes["bias_h"] = (H,)
        shapes["weight_ho"] = (O, H)
        if self.bias:
            shapes["bias_o"] = (O,)
        return shapes

    def state_sizes(self):
        return (self.out_size,)

    def prepare(self, p):
        return p | {"W_hy^T": p["weight_hy"].t(), "W_ho^T": p["weight_ho"].t()}

    def step(self, p, xw, state):
        (y,) = state
        h = self.act(torch.addmm(xw, y, p["W_hy^T"]))
        q = torch.addmm(p["bias_o"], h, p["W_ho^T"]) if self.bias else h @ p["W_ho^T"]
        return (self.out_act(q),), {"h": h}

    def step_backward(self, p, dnew, state, new, gates):
        (dy_new,), (y_new,), h = dnew, new, gates["h"]
        dq = self.out_act.backward(y_new, dy_new)  # q = W_ho h + b_o
        da = self.act.backward(h, dq @ p["weight_ho"])  # a = W_ih x + W_hy y + b_h
        return da, (da @ p["weight_hy"],), {"dq": dq}

    def parameter_grads(self, p, prev, new, gates, dxw, extras):
        grads = {"weight_hy": outer_sum(dxw, prev[0]), "weight_ho": outer_sum(extras["dq"], gates["h"])}
        if self.bias:
            grads["bias_o"] = row_sum(extras["dq"])
        return grads
