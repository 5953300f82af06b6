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

    def prepare(self, p):
        H, W, b = self.hidden_size, p["weight_hh"], p.get("bias_hh")
        if self.reset_after:
            return p | {"W_hh^T": W.t()}
        W_hrz, W_hn = W.split((2 * H, H))
        b_hrz, b_hn = b.split((2 * H, H)) if self.bias else (None, None)
        return p | {"W_hrz": W_hrz, "W_hrz^T": W_hrz.t(), "W_hn": W_hn, "W_hn^T": W_hn.t(), "b_hrz": b_hrz, "b_hn": b_hn}

    def step(self, p, xw, state):
        (h,) = state
        H = self.hidden_size
        x_rz, x_n = xw.split((2 * H, H), -1)
        if self.reset_after:
            hw = h @ p["W_hh^T"] if p.get("bias_hh") is None else torch.addmm(p["bias_hh"], h, p["W_hh^T"])
            h_rz, hn = hw.split((2 * H, H), -1)
            r, z = self.ract(x_rz + h_rz).chunk(2, -1)
            n = self.act(torch.addcmul(x_n, r, hn))  # W_in x + b_in + r * (W_hn h + b_hn)
        else:
            h_rz = h @ p["W_hrz^T"] if p["b_hrz"] is None else torch.addmm(p["b_hrz"], h, p["W_hrz^T"])
            r, z = self.ract(x_rz + h_rz).chunk(2, -1)
            a_n = torch.addmm(x_n, r * h, p["W_hn^T"])  # W_in x + b_in + W_hn (r * h) (+ b_hn)
            n = self.act(a_n + p["b_hn"] if self.bias else a_n)
        gates = {"r": r, "z": z, "n": n, "hn": hn if self.reset_after else None}
        return (torch.lerp(n, h, z),), {k: gates[k] for k in self.gates}  # n + z (h - n)

    def step_backward(self, p, dnew, state, new, gates):
        (dh_new,), (h,) = dnew, state
        r, z, n = gates["r"], gates["z"], gates["n"]
        dh = dh_new * z  # h' = (1 - z) n + z h: the direct path
        dn = self.act.backward(n, dh_new - dh)  # ... through n = act(a_n)
        dz = self.ract.backward(z, dh_new * (h - n))  # ... and through z
        if self.reset_after:
            dr = self.ract.backward(r, dn * gates["hn"])  # a_n = x_n + r * hn
            dh = torch.addmm(dh, torch.cat((dr, dz, dn * r), -1), p["weight_hh"])
        else:
            drh = dn @ p["W_hn"]  # a_n = x_n + W_hn (r * h) + b_hn
            dr = self.ract.backward(r, drh * h)
            dh = torch.addmm(torch.addcmul(dh, drh, r), torch.cat((dr, dz), -1), p["W_hrz"])
        return torch.cat((dr, dz, dn), -1), (dh,), {}

    def parameter_grads(self, p, prev, new, gates, dxw, extras):
        h, r, H = prev[0], gates["r"], self.hidden_size
        d_rz, dn = dxw.split((2 * H, H), -1)
        if self.reset_after:  # W_hn h + b_hn was scaled by r
            dhn = dn * r
            grads = {"weight_hh": torch.cat((outer_sum(d_rz, h), outer_sum(dhn, h)))}
        else:  # W_hn multiplied r * h, not h
            dhn = dn
            grads = {"weight_hh": torch.cat((outer_sum(d_rz, h), outer_sum(dn, r * h)))}
        if self.bias:
            grads["bias_hh"] = torch.cat((row_sum(d_rz), row_sum(dhn)))
        return grads
