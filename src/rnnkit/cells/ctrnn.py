"""Continuous-time RNN, one Euler step of  tau dh/dt = -h + act(W_ih x + b_ih + W_hh h + b_hh):

    r  = act(W_ih x + b_ih + W_hh h + b_hh)      the rate the unit relaxes towards
    h' = (1 - a) h + a r,   a = dt / tau

With learn_tau, tau is a positive per-unit parameter, stored as its log
(`log_tau`, shape (H,)) so that gradient steps can never make it negative.

Shapes: B batch, I input, H hidden.  PyTorch's nn.RNN names for the weights.
"""

from __future__ import annotations

import math

import torch

from .activations import get_activation
from .base import CellMath, outer_sum, row_sum


class CTRNNMath(CellMath):
    gates = ("r",)
    folded_bias = "bias_hh"  # xw = W_ih x + b_ih + b_hh

    def __init__(
        self,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "relu",
        dt: float = 1.0,
        tau: float = 10.0,
        learn_tau: bool = False,
    ):
        super().__init__(hidden_size, bias)
        for name, value in (("dt", dt), ("tau", tau)):
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        self.act = get_activation(nonlinearity, "nonlinearity")
        self.dt, self.tau, self.learn_tau = float(dt), float(tau), bool(learn_tau)

    def parameter_shapes(self, input_size):
        H = self.hidden_size
        shapes = {"weight_ih": (H, input_size), "weight_hh": (H, H)}
        if self.bias:
            shapes |= {"bias_ih": (H,), "bias_hh": (H,)}
        if self.learn_tau:
            shapes["log_tau"] = (H,)
        return shapes

    def reset_parameters(self, p):
        super().reset_parameters(p)
        if self.learn_tau:
            p["log_tau"].data.fill_(math.log(self.tau))

    def prepare(self, p):
        W = p["weight_hh"]
        a = self.leak(p) if self.learn_tau else W.new_tensor(self.dt / self.tau)  # a tensor: no scalar wrapping per step
        return p | {"W_hh^T": W.t(), "a": a, "1-a": 1 - a}

    def leak(self, p):
        """a = dt / tau: a float, or a (H,) tensor when tau is learned."""
        return self.dt * torch.exp(-p["log_tau"]) if self.learn_tau else self.dt / self.tau

    def step(self, p, xw, state):
        (h,) = state
        r = self.act(torch.addmm(xw, h, p["W_hh^T"]))
        return (torch.lerp(h, r, p["a"]),), {"r": r}  # h + a (r - h)

    def step_backward(self, p, dnew, state, new, gates):
        (dh_new,), r, a = dnew, gates["r"], p["a"]
        dpre = self.act.backward(r, a * dh_new)  # h' = h + a (r - h), r = act(pre)
        dh = torch.addmm(p["1-a"] * dh_new, dpre, p["weight_hh"])  # the leak path and the recurrent product
        return dpre, (dh,), {"dh": dh_new} if self.learn_tau else {}

    def parameter_grads(self, p, prev, new, gates, dxw, extras):
        grads = {"weight_hh": outer_sum(dxw, prev[0])}
        if self.bias:
            grads["bias_hh"] = row_sum(dxw)
        if self.learn_tau:
            # dh'/da = r - h and da/dlog_tau = -a
            grads["log_tau"] = -self.leak(p) * row_sum(extras["dh"] * (gates["r"] - prev[0]))
        return grads
