"""Continuous-time RNN, one Euler step of  tau dh/dt = -h + act(W_ih x + b_ih + W_hh h + b_hh):

    r  = act(W_ih x + b_ih + W_hh h + b_hh)      the rate the unit relaxes towards
    h' = (1 - a) h + a r,   a = dt / tau

With learn_tau, tau is a positive per-unit parameter, stored as its log
(`log_tau`, shape (H,)) so that gradient steps can never make it negative.

One product, W_hh h, added to xw = W_ih x + b_ih + b_hh inside the GEMM.
Shapes: B batch, I input, H hidden.  PyTorch's nn.RNN names for the weights.
"""

from __future__ import annotations

import math
import warnings

import torch

from .activations import get_activation
from .base import CellMath, Product, StageGrad, row_sum


class CTRNNMath(CellMath):
    family = "CTRNN"
    recorded = ("r", "h")

    def __init__(
        self,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "relu",
        dt: float = 1.0,
        tau: float = 10.0,
        learn_tau: bool = False,
    ):
        for name, value in (("dt", dt), ("tau", tau)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if dt / tau > 1:
            warnings.warn(f"CTRNN dt={dt} / tau={tau} = {dt / tau:g} > 1: the Euler step overshoots the state it "
                          "relaxes towards and is unstable; use dt <= tau", stacklevel=3)
        super().__init__(
            hidden_size, bias, nonlinearity=nonlinearity, dt=float(dt), tau=float(tau), learn_tau=bool(learn_tau)
        )
        self.act = get_activation(nonlinearity, "nonlinearity")
        self.activations = {"r": self.act}
        self.dt, self.tau, self.learn_tau = float(dt), float(tau), bool(learn_tau)
        self.products = (Product("weight_hh", "bias_hh", plus_input=True),)  # rh = xw + W_hh h

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

    def prepare_pointwise(self, p):
        W = p["weight_hh"]
        a = self.leak(p) if self.learn_tau else W.new_tensor(self.dt / self.tau)  # a tensor: no scalar wrapping per step
        return p | {"a": a, "1-a": 1 - a}

    def leak(self, p):
        """a = dt / tau: a float, or a (H,) tensor when tau is learned."""
        return self.dt * torch.exp(-p["log_tau"]) if self.learn_tau else self.dt / self.tau

    def pointwise(self, k, p, xw, rh, state, saved):  # rh (B, H) = W_ih x + b_ih + b_hh + W_hh h
        (h,) = state
        r = self.act(rh)
        return (torch.lerp(h, r, p["a"]),), {"r": r}  # h + a (r - h)

    def pointwise_backward(self, k, p, dout, carry, state, new, saved):
        (dh_new,), r, a = dout, saved["r"], p["a"]
        dpre = self.act.backward(r, a * dh_new)  # h' = h + a (r - h), r = act(pre)
        return StageGrad(
            drh=dpre, dxw=dpre, dstate=(p["1-a"] * dh_new,),  # the leak path; W_hh h is the engine's
            extras={"dh": dh_new} if self.learn_tau else {},
        )

    def pointwise_parameter_grads(self, p, prev, new, saved, dxw, extras):
        if not self.learn_tau:
            return {}
        # dh'/da = r - h and da/dlog_tau = -a
        return {"log_tau": -self.leak(p) * row_sum(extras["dh"] * (saved["r"] - prev[0]))}
