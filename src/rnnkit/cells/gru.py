"""Gated recurrent unit (Cho et al. 2014), PyTorch's nn.GRU and the reset-before form.

    r  = σ(W_ir x + b_ir + W_hr h + b_hr)                 reset gate
    z  = σ(W_iz x + b_iz + W_hz h + b_hz)                 update gate
    n  = act(W_in x + b_in + r * (W_hn h + b_hn))         reset_after=True (PyTorch, cuDNN)
    n  = act(W_in x + b_in + W_hn (r * h) + b_hn)         reset_after=False (Cho et al.; Keras
                                                          reset_after=False; ONNX linear_before_reset=0)
    h' = (1 - z) * n + z * h

The textbook form h' = (1 - u) h + u h~ is the same network with u = 1 - z: its update
gate is this z complemented, i.e. σ(-(W_iz x + b_iz + W_hz h + b_hz)), so negating the
z rows of the weights and biases converts one into the other.

Products: reset after, one: W_hh h + b_hh (all three gates). Reset before, two: W_h{r,z} h
+ b_h{r,z} (stage 0: r, z and the operand r * h), then W_hn (r * h) + b_hn (stage 1: n, h').

σ is `recurrent_activation` (sigmoid), act is `activation` (tanh).
Shapes: B batch, I input, H hidden.  weight_ih (3H, I), weight_hh (3H, H), biases (3H,),
rows in the order r, z, n.
"""

from __future__ import annotations

import torch

from .activations import get_activation
from .base import CellMath, Product, StageGrad


class GRUMath(CellMath):
    family = "GRU"
    gate_names = ("r", "z", "n")
    recorded = ("r", "z", "n", "h")

    def __init__(
        self,
        hidden_size: int,
        bias: bool = True,
        reset_after: bool = True,
        activation: str = "tanh",
        recurrent_activation: str = "sigmoid",
    ):
        super().__init__(
            hidden_size, bias, reset_after=bool(reset_after), activation=activation,
            recurrent_activation=recurrent_activation,
        )
        self.reset_after = bool(reset_after)
        self.act = get_activation(activation, "activation")
        self.ract = get_activation(recurrent_activation, "recurrent_activation")
        self.activations = {"r": self.ract, "z": self.ract, "n": self.act}
        H = hidden_size
        if self.reset_after:
            self.products = (Product("weight_hh", "bias_hh"),)  # W_hh h + b_hh
        else:
            self.products = (
                Product("weight_hh", "bias_hh", rows=(0, 2 * H)),  # W_h{r,z} h + b_h{r,z}
                Product("weight_hh", "bias_hh", rows=(2 * H, 3 * H)),  # W_hn (r * h) + b_hn
            )

    def parameter_shapes(self, input_size):
        H = self.hidden_size
        shapes = {"weight_ih": (3 * H, input_size), "weight_hh": (3 * H, H)}
        if self.bias:
            shapes |= {"bias_ih": (3 * H,), "bias_hh": (3 * H,)}
        return shapes

    def gate_rows(self, gate):
        k, H = self.gate_names.index(gate), self.hidden_size
        return slice(k * H, (k + 1) * H)

    def pointwise(self, k, p, xw, rh, state, saved):
        (h,), H = state, self.hidden_size
        x_rz, x_n = xw.split((2 * H, H), -1)
        if self.reset_after:  # rh (B, 3H) = W_hh h + b_hh
            h_rz, hn = rh.split((2 * H, H), -1)
            r, z = self.ract(x_rz + h_rz).chunk(2, -1)
            n = self.act(torch.addcmul(x_n, r, hn))  # W_in x + b_in + r * (W_hn h + b_hn)
            return (torch.lerp(n, h, z),), {"r": r, "z": z, "n": n, "hn": hn}  # n + z (h - n)
        if k == 0:  # rh (B, 2H) = W_h{r,z} h + b_h{r,z}
            r, z = self.ract(x_rz + rh).chunk(2, -1)
            return r * h, {"r": r, "z": z}  # the operand of W_hn
        n = self.act(x_n + rh)  # rh (B, H) = W_hn (r * h) + b_hn
        return (torch.lerp(n, h, saved["z"]),), saved | {"n": n}

    def pointwise_backward(self, k, p, dout, carry, state, new, saved):
        (h,), r, z = state, saved["r"], saved["z"]
        if self.reset_after or k == 1:  # h' = (1 - z) n + z h
            (dh_new,), n = dout, saved["n"]
            dh = dh_new * z  # the direct path
            dn = self.act.backward(n, dh_new - dh)  # ... through n = act(a_n)
            dz = self.ract.backward(z, dh_new * (h - n))  # ... and through z
            if not self.reset_after:  # a_n = x_n + W_hn (r * h) + b_hn: on to stage 0
                return StageGrad(drh=dn, carry={"dz": dz, "dn": dn, "dh": dh})
            dr = self.ract.backward(r, dn * saved["hn"])  # a_n = x_n + r * hn
            return StageGrad(drh=torch.cat((dr, dz, dn * r), -1), dxw=torch.cat((dr, dz, dn), -1), dstate=(dh,))
        d_rh = dout  # dL/d(r * h), carried back through W_hn by the engine
        dr = self.ract.backward(r, d_rh * h)
        d_rz = torch.cat((dr, carry["dz"]), -1)
        dh = torch.addcmul(carry["dh"], d_rh, r)
        return StageGrad(drh=d_rz, dxw=torch.cat((d_rz, carry["dn"]), -1), dstate=(dh,))
