"""Jordan RNN (Jordan 1986): the output, not the hidden state, is fed back.

    h  = act(W_ih x + W_hy y + b_h)
    y' = out_act(W_ho h + b_o)

Products: W_hy y, added to xw = W_ih x + b_h inside the GEMM (stage 0: h), then the
output layer W_ho h + b_o (stage 1: y').
Shapes: B batch, I input, H hidden, O output.
weight_ih (H, I), weight_hy (H, O), bias_h (H,), weight_ho (O, H), bias_o (O,).
"""

from __future__ import annotations

from .activations import get_activation
from .base import CellMath, Product, StageGrad


class JordanMath(CellMath):
    family = "Jordan"
    states = ("y",)
    recorded = ("h", "y")
    input_bias = "bias_h"

    def __init__(
        self,
        hidden_size: int,
        output_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        output_activation: str = "identity",
    ):
        super().__init__(
            hidden_size, bias, output_size=output_size, nonlinearity=nonlinearity, output_activation=output_activation
        )
        self.out_size = output_size
        self.act = get_activation(nonlinearity, "nonlinearity")
        self.out_act = get_activation(output_activation, "output_activation")
        self.activations = {"h": self.act, "y": self.out_act}
        self.products = (
            Product("weight_hy", plus_input=True),  # xw + W_hy y
            Product("weight_ho", "bias_o"),  # W_ho h + b_o
        )

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

    def pointwise(self, k, p, xw, rh, state, saved):
        if k == 0:  # rh (B, H) = W_ih x + b_h + W_hy y
            h = self.act(rh)
            return h, {"h": h}
        return (self.out_act(rh),), saved  # rh (B, O) = W_ho h + b_o

    def pointwise_backward(self, k, p, dout, carry, state, new, saved):
        if k == 1:
            (dy_new,), (y_new,) = dout, new
            return StageGrad(drh=self.out_act.backward(y_new, dy_new))  # q = W_ho h + b_o
        da = self.act.backward(saved["h"], dout)  # a = W_ih x + W_hy y + b_h; dout = dL/dh
        return StageGrad(drh=da, dxw=da, dstate=(None,))  # y reaches y' only through W_hy y
