"""ElmanMath's pointwise stage in Triton (cells/elman.py):

    h' = act(W_ih x + b_ih + W_hh h + b_hh)

The stage is one activation of rh: the `activate` kernel and its backward.
"""

from __future__ import annotations

from ...cells.base import StageGrad
from ...cells.elman import ElmanMath
from .activations import activate, activate_backward


class ElmanKernels(ElmanMath):
    """ElmanMath with its pointwise stage run by a Triton kernel."""

    def pointwise(self, k, p, xw, rh, state, saved):  # rh (B, H) = W_ih x + b_ih + b_hh + W_hh h
        h = activate(self.act, rh)
        return (h,), saved

    def pointwise_backward(self, k, p, dout, carry, state, new, saved):
        (dh,), (h,) = dout, new
        da = activate_backward(self.act, h, dh)  # through act: dL/d(pre-activation), = dL/dxw = dL/drh
        return StageGrad(drh=da, dxw=da, dstate=(None,))
