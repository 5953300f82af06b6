"""CTRNNMath's pointwise stage in Triton (cells/ctrnn.py), one Euler step:

    r  = act(W_ih x + b_ih + W_hh h + b_hh)
    h' = (1 - a) h + a r,   a = dt / tau      (tau per unit when learned)
"""

from __future__ import annotations

import triton
import triton.language as tl

from ...cells.base import StageGrad
from ...cells.ctrnn import CTRNNMath
from .activations import activation, activation_backward, code
from .base import launch, load, rows, store, tile


@triton.jit
def ctrnn_pointwise(
    rh_ptr, h_ptr, a_ptr, a, r_ptr, h_new_ptr, B, H,
    ACT: tl.constexpr, LEARN_TAU: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """CTRNNMath.pointwise: rh, h (B, H); a a number, or a_ptr (H,) with LEARN_TAU."""
    b, j, mask = tile(B, H, BLOCK_B, BLOCK_N)
    bj = b * H + j  # where (b, j) is in a (B, H) tensor
    if LEARN_TAU:
        a = load(a_ptr, j, j < H)  # a = dt / tau, per unit
    rh = load(rh_ptr, bj, mask)  # rh = W_ih x + b_ih + b_hh + W_hh h
    h = load(h_ptr, bj, mask)  # (h,) = state
    r = activation(rh, ACT)  # r = act(rh)
    h_new = h + a * (r - h)  # h' = lerp(h, r, a) = h + a (r - h)
    store(r_ptr, bj, r, mask)
    store(h_new_ptr, bj, h_new, mask)


@triton.jit
def ctrnn_pointwise_backward(
    dh_new_ptr, r_ptr, a_ptr, a, dpre_ptr, dh_ptr, B, H,
    ACT: tl.constexpr, LEARN_TAU: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """CTRNNMath.pointwise_backward: dL/dh' and r (B, H) -> dL/dpre and the leak path's dL/dh."""
    b, j, mask = tile(B, H, BLOCK_B, BLOCK_N)
    bj = b * H + j  # where (b, j) is in a (B, H) tensor
    if LEARN_TAU:
        a = load(a_ptr, j, j < H)
    dh_new = load(dh_new_ptr, bj, mask)  # (dh_new,) = dout
    r = load(r_ptr, bj, mask)  # r = saved["r"]
    dpre = activation_backward(r, a * dh_new, ACT)  # h' = h + a (r - h), r = act(pre)
    dh = (1.0 - a) * dh_new  # the leak path; W_hh h is the engine's
    store(dpre_ptr, bj, dpre, mask)
    store(dh_ptr, bj, dh, mask)


class CTRNNKernels(CTRNNMath):
    """CTRNNMath with its pointwise stage run by Triton kernels."""

    def prepare_pointwise(self, p):
        # a = dt / tau: a float the kernels take as an argument (no tensor made from a host
        # number at every sequence, which a CUDA graph could not capture), or (H,) when learned
        return p | {"a": self.leak(p)}

    def _leak_args(self, p, like):
        """(a_ptr, a) for the kernels: the learned (H,) tensor and an unused number, or the
        number and an unused pointer."""
        return (p["a"], 0.0) if self.learn_tau else (like, p["a"])

    def pointwise(self, k, p, xw, rh, state, saved):  # rh (B, H) = W_ih x + b_ih + b_hh + W_hh h
        (h,), rh = state, rows(rh)
        r, h_new = rh.new_empty(rh.shape), rh.new_empty(rh.shape)
        launch(
            ctrnn_pointwise, *rh.shape, rh, rows(h), *self._leak_args(p, rh), r, h_new,
            ACT=code(self.act), LEARN_TAU=self.learn_tau,
        )
        return (h_new,), {"r": r}

    def pointwise_backward(self, k, p, dout, carry, state, new, saved):
        (dh_new,), r = dout, rows(saved["r"])
        dh_new = rows(dh_new)
        dpre, dh = dh_new.new_empty(dh_new.shape), dh_new.new_empty(dh_new.shape)
        launch(
            ctrnn_pointwise_backward, *dh_new.shape, dh_new, r, *self._leak_args(p, dh_new), dpre, dh,
            ACT=code(self.act), LEARN_TAU=self.learn_tau,
        )
        return StageGrad(drh=dpre, dxw=dpre, dstate=(dh,), extras={"dh": dh_new} if self.learn_tau else {})
