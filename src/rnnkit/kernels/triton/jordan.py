"""JordanMath's pointwise stages in Triton (cells/jordan.py):

    h  = act(W_ih x + W_hy y + b_h)       stage 0
    y' = out_act(W_ho h + b_o)            stage 1

Each stage is one activation of rh: the `activate` kernel and its backward.
"""

from __future__ import annotations

from ...cells.base import StageGrad
from ...cells.jordan import JordanMath
from .activations import activate, activate_backward


class JordanKernels(JordanMath):
    """JordanMath with its pointwise stages run by Triton kernels."""

    def pointwise(self, k, p, xw, rh, state, saved):
        if k == 0:  # rh (B, H) = W_ih x + b_h + W_hy y
            h = activate(self.act, rh)
            return h, {"h": h}
        return (activate(self.out_act, rh),), saved  # rh (B, O) = W_ho h + b_o

    def pointwise_backward(self, k, p, dout, carry, state, new, saved):
        if k == 1:
            (dy_new,), (y_new,) = dout, new
            return StageGrad(drh=activate_backward(self.out_act, y_new, dy_new))  # q = W_ho h + b_o
        da = activate_backward(self.act, saved["h"], dout)  # a = W_ih x + W_hy y + b_h; dout = dL/dh
        return StageGrad(drh=da, dxw=da, dstate=(None,))
