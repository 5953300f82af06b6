"""LSTMMath's pointwise stages in Triton (cells/lstm.py):

    i = σ(pre_i [+ w_ci * c])     f = σ(pre_f [+ w_cf * c])     g = act(pre_g)
    c' = f * c + i * g            (c + i * g without f)
    o = σ(pre_o [+ w_co * c'])    m = o * act(c')

with rh = pre = W_ih x + b_ih + b_hh + W_hh h, its gates in the order (i, f, g, o), or
(i, g, o) without f. Stage 0 is one kernel, forward and backward; stage 1 (a projection,
h' = W_hr m) has no pointwise math and stays the cell's own.
"""

from __future__ import annotations

import triton
import triton.language as tl

from ...cells.base import StageGrad
from ...cells.lstm import LSTMMath
from .activations import activation, activation_backward, code
from .base import function, launch, load, rows, store, tile


@function
def gate_columns(H, FORGET_GATE: tl.constexpr):
    """(G, where f, g and o start in a row of rh): gates (i, f, g, o), or (i, g, o) without f."""
    if FORGET_GATE:
        columns = (4 * H, H, 2 * H, 3 * H)
    else:
        columns = (3 * H, 0, H, 2 * H)  # no f
    return columns


@function
def peepholed(pre, w_ptr, row, c, j, H, PEEPHOLE: tl.constexpr):
    """pre + w[row] * c with a peephole (torch.addcmul(pre, w_c, c)), else pre."""
    if PEEPHOLE:
        pre = pre + load(w_ptr, row * H + j, j < H) * c
    return pre


@triton.jit
def lstm_pointwise(
    rh_ptr, c_ptr, w_ptr, i_ptr, f_ptr, g_ptr, o_ptr, c_new_ptr, m_ptr, B, H,
    ACT: tl.constexpr, RACT: tl.constexpr, PEEPHOLE: tl.constexpr, FORGET_GATE: tl.constexpr,
    BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """LSTMMath.pointwise, stage 0: rh (B, G), c (B, H), w the peepholes (3 or 2, H) ->
    the gates, c' and m, each (B, H)."""
    b, j, mask = tile(B, H, BLOCK_B, BLOCK_N)
    G, col_f, col_g, col_o = gate_columns(H, FORGET_GATE)
    bj, bg = b * H + j, b * G + j  # where (b, j) is in a (B, H) tensor, and gate i's (b, j) in a (B, G) one
    c = load(c_ptr, bj, mask)  # c = state[1]
    pre_i = load(rh_ptr, bg, mask)  # pre = rh.chunk(gates)
    i = activation(peepholed(pre_i, w_ptr, 0, c, j, H, PEEPHOLE), RACT)  # i = ract(pre_i [+ w_ci * c])
    g = activation(load(rh_ptr, bg + col_g, mask), ACT)  # g = act(pre_g)
    if FORGET_GATE:
        pre_f = load(rh_ptr, bg + col_f, mask)
        f = activation(peepholed(pre_f, w_ptr, 1, c, j, H, PEEPHOLE), RACT)  # f = ract(pre_f [+ w_cf * c])
        c = f * c + i * g  # c' = f * c + i * g
        store(f_ptr, bj, f, mask)
    else:
        c = c + i * g  # c' = c + i * g
    pre_o = load(rh_ptr, bg + col_o, mask)
    o = activation(peepholed(pre_o, w_ptr, 2 if FORGET_GATE else 1, c, j, H, PEEPHOLE), RACT)  # o = ract(pre_o [+ w_co * c'])
    m = o * activation(c, ACT)  # m = o * act(c')
    store(i_ptr, bj, i, mask)
    store(g_ptr, bj, g, mask)
    store(o_ptr, bj, o, mask)
    store(c_new_ptr, bj, c, mask)
    store(m_ptr, bj, m, mask)


@triton.jit
def lstm_pointwise_backward(
    dm_ptr, dc_new_ptr, c_ptr, c_new_ptr, i_ptr, f_ptr, g_ptr, o_ptr, w_ptr, dpre_ptr, dc_ptr, B, H,
    ACT: tl.constexpr, RACT: tl.constexpr, PEEPHOLE: tl.constexpr, FORGET_GATE: tl.constexpr,
    BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """LSTMMath.pointwise_backward, stage 0: dL/dm, dL/dc' and what the forward saved ->
    dL/dpre (B, G) (= dL/drh = dL/dxw) and dL/dc (B, H)."""
    b, j, mask = tile(B, H, BLOCK_B, BLOCK_N)
    G, col_f, col_g, col_o = gate_columns(H, FORGET_GATE)
    bj, bg = b * H + j, b * G + j
    dm = load(dm_ptr, bj, mask)
    dc_new = load(dc_new_ptr, bj, mask)
    c = load(c_ptr, bj, mask)  # c, c_new = state[1], new[1]
    c_new = load(c_new_ptr, bj, mask)
    i = load(i_ptr, bj, mask)  # i, g, o = saved["i"], saved["g"], saved["o"]
    g = load(g_ptr, bj, mask)
    o = load(o_ptr, bj, mask)
    act_c = activation(c_new, ACT)  # act_c = act(c')
    do = activation_backward(o, dm * act_c, RACT)  # m = o * act(c'): through the output gate
    dc_new = dc_new + activation_backward(act_c, dm * o, ACT)  # ... and through act(c')
    if PEEPHOLE:
        dc_new = dc_new + do * load(w_ptr, (2 if FORGET_GATE else 1) * H + j, j < H)  # o saw c' through its peephole
    di = activation_backward(i, dc_new * g, RACT)  # c' = f c + i g
    dg = activation_backward(g, dc_new * i, ACT)
    if FORGET_GATE:
        f = load(f_ptr, bj, mask)
        df = activation_backward(f, dc_new * c, RACT)
        dc = dc_new * f
        store(dpre_ptr, bg + col_f, df, mask)
    else:
        dc = dc_new  # the constant error carousel
    if PEEPHOLE:  # i and f saw c through theirs
        dc = dc + di * load(w_ptr, j, j < H)
        if FORGET_GATE:
            dc = dc + df * load(w_ptr, H + j, j < H)
    store(dpre_ptr, bg, di, mask)  # dpre = cat(di, [df,] dg, do)
    store(dpre_ptr, bg + col_g, dg, mask)
    store(dpre_ptr, bg + col_o, do, mask)
    store(dc_ptr, bj, dc, mask)


class LSTMKernels(LSTMMath):
    """LSTMMath with its pointwise stage 0 run by Triton kernels."""

    def _options(self):
        return dict(ACT=code(self.act), RACT=code(self.ract), PEEPHOLE=self.peephole, FORGET_GATE=self.forget_gate)

    def pointwise(self, k, p, xw, rh, state, saved):
        if k == 1:  # rh (B, P) = W_hr m: the projection, no pointwise math
            return super().pointwise(k, p, xw, rh, state, saved)
        c, rh = rows(state[1]), rows(rh)  # rh (B, G) = W_ih x + b_ih + b_hh + W_hh h
        i, g, o, c_new, m = (c.new_empty(c.shape) for _ in range(5))
        f = c.new_empty(c.shape) if self.forget_gate else c  # c: a pointer never written
        w = rows(p["weight_peephole"]) if self.peephole else rh  # rh: a pointer never read
        launch(lstm_pointwise, *c.shape, rh, c, w, i, f, g, o, c_new, m, **self._options())
        saved = {"i": i, "f": f, "g": g, "o": o, "c": c_new}
        if not self.forget_gate:
            del saved["f"]
        return (m if self.proj_size else (m, c_new)), saved

    def pointwise_backward(self, k, p, dout, carry, state, new, saved):
        if k == 1:  # h' = W_hr m: no pointwise math
            return super().pointwise_backward(k, p, dout, carry, state, new, saved)
        dm, dc_new = (dout, carry["dc"]) if self.proj_size else dout
        dm, dc_new, c, c_new = rows(dm), rows(dc_new), rows(state[1]), rows(new[1])
        i, g, o = rows(saved["i"]), rows(saved["g"]), rows(saved["o"])
        f = rows(saved["f"]) if self.forget_gate else i  # i: a pointer never read
        dpre = dm.new_empty(c.shape[0], len(self.gate_names) * self.hidden_size)
        dc = dm.new_empty(c.shape)
        w = rows(p["weight_peephole"]) if self.peephole else dm
        launch(lstm_pointwise_backward, *c.shape, dm, dc_new, c, c_new, i, f, g, o, w, dpre, dc, **self._options())
        return StageGrad(drh=dpre, dxw=dpre, dstate=(None, dc))  # h reaches h' only through W_hh h
