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

σ is `recurrent_activation` (sigmoid), act is `activation` (tanh).
Shapes: B batch, I input, H hidden.  weight_ih (3H, I), weight_hh (3H, H), biases (3H,),
rows in the order r, z, n.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .activations import get_activation
from .base import CellMath, outer_sum, row_sum


class GRUMath(CellMath):
    def __init__(
        self,
        hidden_size: int,
        bias: bool = True,
        reset_after: bool = True,
        activation: str = "tanh",
        recurrent_activation: str = "sigmoid",
    ):
        super().__init__(hidden_size, bias)
        self.reset_after = bool(reset_after)
        self.act = get_activation(activation, "activation")
        self.ract = get_activation(recurrent_activation, "recurrent_activation")
        # reset-after needs W_hn h + b_hn again in the backward step
        self.gates = ("r", "z", "n", "hn") if self.reset_after else ("r", "z", "n")

    def parameter_shapes(self, input_size):
        H = self.hidden_size
        shapes = {"weight_ih": (3 * H, input_size), "weight_hh": (3 * H, H)}
        if self.bias:
            shapes |= {"bias_ih": (3 * H,), "bias_hh": (3 * H,)}
        return shapes

    def step(self, p, xw, state):
        (h,) = state
        H = self.hidden_size
        xr, xz, xn = xw.chunk(3, -1)
        if self.reset_after:
            hr, hz, hn = F.linear(h, p["weight_hh"], p.get("bias_hh")).chunk(3, -1)
            r, z = self.ract(xr + hr), self.ract(xz + hz)
            n = self.act(xn + r * hn)
        else:
            W_hrz, W_hn = p["weight_hh"].split((2 * H, H))
            b_hrz, b_hn = p["bias_hh"].split((2 * H, H)) if self.bias else (None, None)
            hr, hz = F.linear(h, W_hrz, b_hrz).chunk(2, -1)
            r, z = self.ract(xr + hr), self.ract(xz + hz)
            n = self.act(xn + F.linear(r * h, W_hn, b_hn))
        gates = {"r": r, "z": z, "n": n, "hn": hn if self.reset_after else None}
        return (n + z * (h - n),), {k: gates[k] for k in self.gates}

    def step_backward(self, p, dnew, state, new, gates):
        (dh_new,), (h,) = dnew, state
        r, z, n = gates["r"], gates["z"], gates["n"]
        H = self.hidden_size
        dn = self.act.backward(n, dh_new * (1 - z))  # h' = (1 - z) n + z h, n = act(a_n)
        dz = self.ract.backward(z, dh_new * (h - n))
        dh = dh_new * z
        if self.reset_after:
            dr = self.ract.backward(r, dn * gates["hn"])  # a_n = x_n + r * hn
            dh = dh + torch.cat((dr, dz, dn * r), -1) @ p["weight_hh"]
        else:
            W_hrz, W_hn = p["weight_hh"].split((2 * H, H))
            drh = dn @ W_hn  # a_n = x_n + W_hn (r * h) + b_hn
            dr = self.ract.backward(r, drh * h)
            dh = dh + drh * r + torch.cat((dr, dz), -1) @ W_hrz
        return torch.cat((dr, dz, dn), -1), (dh,), {}

    def parameter_grads(self, p, prev, new, gates, dxw, extras):
        (h,), H = prev, self.hidden_size
        d_rz, dn = dxw.split((2 * H, H), -1)
        if self.reset_after:  # the recurrent product's gradient: n's rows scaled by r
            dhw = torch.cat((d_rz, dn * gates["r"]), -1)
            grads = {"weight_hh": outer_sum(dhw, h)}
        else:  # W_hn multiplied r * h, not h
            dhw = dxw
            grads = {"weight_hh": torch.cat((outer_sum(d_rz, h), outer_sum(dn, gates["r"] * h)))}
        if self.bias:
            grads["bias_hh"] = row_sum(dhw)
        return grads
