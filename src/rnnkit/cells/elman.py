"""Elman RNN (Elman 1990), PyTorch's nn.RNN:

    h' = act(W_ih x + b_ih + W_hh h + b_hh)

One recurrent product, W_hh h, added to xw = W_ih x + b_ih + b_hh inside the GEMM.
Shapes: B batch, I input, H hidden.  weight_ih (H, I), weight_hh (H, H), biases (H,).
"""

from __future__ import annotations

from .activations import get_activation
from .base import CellMath, Product, StageGrad


class ElmanMath(CellMath):
    family = "Elman"

    def __init__(self, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh"):
        super().__init__(hidden_size, bias, nonlinearity=nonlinearity)
        self.act = get_activation(nonlinearity, "nonlinearity")
        self.activations = {"h": self.act}
        self.products = (Product("weight_hh", "bias_hh", plus_input=True),)  # rh = xw + W_hh h

    def parameter_shapes(self, input_size):
        H = self.hidden_size
        shapes = {"weight_ih": (H, input_size), "weight_hh": (H, H)}
        if self.bias:
            shapes |= {"bias_ih": (H,), "bias_hh": (H,)}
        return shapes

    def pointwise(self, k, p, xw, rh, state, saved):  # rh (B, H) = W_ih x + b_ih + b_hh + W_hh h
        h = self.act(rh)
        return (h,), saved

    def pointwise_backward(self, k, p, dout, carry, state, new, saved):
        (dh,), (h,) = dout, new
        da = self.act.backward(h, dh)  # through act: dL/d(pre-activation), = dL/dxw = dL/drh
        return StageGrad(drh=da, dxw=da, dstate=(None,))  # h reaches h' only through W_hh h
