"""GRUMath's pointwise stages in Triton (cells/gru.py), rows of xw and rh in the order r, z, n:

    reset_after (one stage):   r, z = σ(x_rz + h_rz)      n = act(x_n + r * hn)      h' = (1 - z) n + z h
    reset_before, stage 0:     r, z = σ(x_rz + rh)        operand r * h
    reset_before, stage 1:     n = act(x_n + rh)          h' = (1 - z) n + z h

with rh = W_hh h + b_hh (h_rz its first 2H columns, hn the last H) after the reset, and
W_h{r,z} h + b_h{r,z}, then W_hn (r * h) + b_hn before it. One kernel per stage, forward
and backward; the backward of h' = (1 - z) n + z h is one kernel for both forms, as it is
one branch of the cell.
"""

from __future__ import annotations

import triton
import triton.language as tl

from ...cells.base import StageGrad
from ...cells.gru import GRUMath
from .activations import activation, activation_backward, code
from .base import launch, load, rows, store, tile


@triton.jit
def gru_reset_after(
    xw_ptr, rh_ptr, h_ptr, r_ptr, z_ptr, n_ptr, h_new_ptr, B, H,
    ACT: tl.constexpr, RACT: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """GRUMath.pointwise with reset_after: xw, rh (B, 3H), h (B, H) -> r, z, n, h' (B, H)."""
    b, j, mask = tile(B, H, BLOCK_B, BLOCK_N)
    bj = b * H + j  # where (b, j) is in a (B, H) tensor
    b3 = b * 3 * H + j  # (b, j) of r in a (B, 3H) tensor: z is at b3 + H, n at b3 + 2H
    h = load(h_ptr, bj, mask)  # (h,) = state
    r = activation(load(xw_ptr, b3, mask) + load(rh_ptr, b3, mask), RACT)  # r, z = ract(x_rz + h_rz)
    z = activation(load(xw_ptr, b3 + H, mask) + load(rh_ptr, b3 + H, mask), RACT)
    hn = load(rh_ptr, b3 + 2 * H, mask)
    n = activation(load(xw_ptr, b3 + 2 * H, mask) + r * hn, ACT)  # n = act(x_n + r * hn)
    h_new = n + z * (h - n)  # h' = lerp(n, h, z) = n + z (h - n)
    store(r_ptr, bj, r, mask)
    store(z_ptr, bj, z, mask)
    store(n_ptr, bj, n, mask)
    store(h_new_ptr, bj, h_new, mask)


@triton.jit
def gru_reset_before_gates(
    xw_ptr, rh_ptr, h_ptr, r_ptr, z_ptr, rh_prod_ptr, B, H,
    RACT: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """GRUMath.pointwise, reset before, stage 0: xw (B, 3H), rh (B, 2H), h (B, H) -> r, z and r * h (B, H)."""
    b, j, mask = tile(B, H, BLOCK_B, BLOCK_N)
    bj = b * H + j  # where (b, j) is in a (B, H) tensor
    b3, b2 = b * 3 * H + j, b * 2 * H + j  # (b, j) of r in a (B, 3H) and a (B, 2H) tensor
    h = load(h_ptr, bj, mask)
    r = activation(load(xw_ptr, b3, mask) + load(rh_ptr, b2, mask), RACT)  # r, z = ract(x_rz + rh)
    z = activation(load(xw_ptr, b3 + H, mask) + load(rh_ptr, b2 + H, mask), RACT)
    store(r_ptr, bj, r, mask)
    store(z_ptr, bj, z, mask)
    store(rh_prod_ptr, bj, r * h, mask)  # r * h, the operand of W_hn


@triton.jit
def gru_reset_before_candidate(
    xw_ptr, rh_ptr, h_ptr, z_ptr, n_ptr, h_new_ptr, B, H,
    ACT: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """GRUMath.pointwise, reset before, stage 1: xw (B, 3H), rh (B, H), h and z (B, H) -> n, h' (B, H)."""
    b, j, mask = tile(B, H, BLOCK_B, BLOCK_N)
    bj = b * H + j  # where (b, j) is in a (B, H) tensor
    b3 = b * 3 * H + j
    h = load(h_ptr, bj, mask)
    n = activation(load(xw_ptr, b3 + 2 * H, mask) + load(rh_ptr, bj, mask), ACT)  # n = act(x_n + rh)
    z = load(z_ptr, bj, mask)  # saved["z"]
    h_new = n + z * (h - n)  # h' = lerp(n, h, z)
    store(n_ptr, bj, n, mask)
    store(h_new_ptr, bj, h_new, mask)


@triton.jit
def gru_update_backward(
    dh_new_ptr, h_ptr, r_ptr, z_ptr, n_ptr, hn_ptr, hn_stride, drh_ptr, dxw_ptr, dz_ptr, dh_ptr, B, H,
    ACT: tl.constexpr, RACT: tl.constexpr, RESET_AFTER: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """GRUMath.pointwise_backward of h' = (1 - z) n + z h (reset after, or reset before's
    stage 1): dL/dh' (B, H) -> dL/dh by the direct path, and dL/drh, dL/dxw (B, 3H) after
    the reset; dL/dz and dL/dn (drh, B, H) before it. hn's rows are hn_stride apart."""
    b, j, mask = tile(B, H, BLOCK_B, BLOCK_N)
    bj = b * H + j  # where (b, j) is in a (B, H) tensor
    b3 = b * 3 * H + j
    dh_new = load(dh_new_ptr, bj, mask)  # (dh_new,) = dout
    h = load(h_ptr, bj, mask)  # (h,) = state
    z = load(z_ptr, bj, mask)
    n = load(n_ptr, bj, mask)  # n = saved["n"]
    dh = dh_new * z  # the direct path
    dn = activation_backward(n, dh_new - dh, ACT)  # ... through n = act(a_n)
    dz = activation_backward(z, dh_new * (h - n), RACT)  # ... and through z
    store(dh_ptr, bj, dh, mask)
    if RESET_AFTER:
        r = load(r_ptr, bj, mask)
        dr = activation_backward(r, dn * load(hn_ptr, b * hn_stride + j, mask), RACT)  # a_n = x_n + r * hn
        store(drh_ptr, b3, dr, mask)  # drh = cat(dr, dz, dn * r)
        store(drh_ptr, b3 + H, dz, mask)
        store(drh_ptr, b3 + 2 * H, dn * r, mask)
        store(dxw_ptr, b3, dr, mask)  # dxw = cat(dr, dz, dn)
        store(dxw_ptr, b3 + H, dz, mask)
        store(dxw_ptr, b3 + 2 * H, dn, mask)
    else:  # a_n = x_n + W_hn (r * h) + b_hn: on to stage 0
        store(drh_ptr, bj, dn, mask)
        store(dz_ptr, bj, dz, mask)


@triton.jit
def gru_reset_before_gates_backward(
    d_rh_ptr, h_ptr, r_ptr, dz_ptr, dn_ptr, dh_carry_ptr, dxw_ptr, dh_ptr, B, H,
    RACT: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """GRUMath.pointwise_backward, reset before, stage 0: dL/d(r * h) and what stage 1 carried
    -> dL/dxw (B, 3H), whose first 2H columns are dL/drh, and dL/dh (B, H)."""
    b, j, mask = tile(B, H, BLOCK_B, BLOCK_N)
    bj = b * H + j  # where (b, j) is in a (B, H) tensor
    b3 = b * 3 * H + j
    d_rh = load(d_rh_ptr, bj, mask)  # dL/d(r * h), carried back through W_hn by the engine
    h = load(h_ptr, bj, mask)
    r = load(r_ptr, bj, mask)
    dr = activation_backward(r, d_rh * h, RACT)
    dh = load(dh_carry_ptr, bj, mask) + d_rh * r  # dh = carry["dh"] + d_rh * r
    store(dxw_ptr, b3, dr, mask)  # d_rz = cat(dr, carry["dz"]); dxw = cat(d_rz, carry["dn"])
    store(dxw_ptr, b3 + H, load(dz_ptr, bj, mask), mask)
    store(dxw_ptr, b3 + 2 * H, load(dn_ptr, bj, mask), mask)
    store(dh_ptr, bj, dh, mask)


class GRUKernels(GRUMath):
    """GRUMath with its pointwise stages run by Triton kernels."""

    def pointwise(self, k, p, xw, rh, state, saved):
        (h,), xw, rh = state, rows(xw), rows(rh)
        h = rows(h)
        if self.reset_after:  # rh (B, 3H) = W_hh h + b_hh
            r, z, n, h_new = (h.new_empty(h.shape) for _ in range(4))
            launch(gru_reset_after, *h.shape, xw, rh, h, r, z, n, h_new, ACT=code(self.act), RACT=code(self.ract))
            return (h_new,), {"r": r, "z": z, "n": n, "hn": rh[:, 2 * self.hidden_size:]}
        if k == 0:  # rh (B, 2H) = W_h{r,z} h + b_h{r,z}
            r, z, rh_prod = (h.new_empty(h.shape) for _ in range(3))
            launch(gru_reset_before_gates, *h.shape, xw, rh, h, r, z, rh_prod, RACT=code(self.ract))
            return rh_prod, {"r": r, "z": z}  # the operand of W_hn
        n, h_new = h.new_empty(h.shape), h.new_empty(h.shape)  # rh (B, H) = W_hn (r * h) + b_hn
        launch(gru_reset_before_candidate, *h.shape, xw, rh, h, rows(saved["z"]), n, h_new, ACT=code(self.act))
        return (h_new,), saved | {"n": n}

    def pointwise_backward(self, k, p, dout, carry, state, new, saved):
        (h,), r, z = state, rows(saved["r"]), rows(saved["z"])
        h, H = rows(h), self.hidden_size
        if self.reset_after or k == 1:  # h' = (1 - z) n + z h
            (dh_new,) = dout
            dh_new, dh = rows(dh_new), h.new_empty(h.shape)
            if self.reset_after:
                drh, dxw = h.new_empty(h.shape[0], 3 * H), h.new_empty(h.shape[0], 3 * H)
                hn, dz = saved["hn"], dh  # dh: a pointer never written
                hn = hn if hn.stride(-1) == 1 else hn.contiguous()  # a view of rh: its rows need not be
            else:
                drh, dz = h.new_empty(h.shape), h.new_empty(h.shape)
                hn, dxw = h, dh  # pointers never read, never written
            launch(
                gru_update_backward, *h.shape, dh_new, h, r, z, rows(saved["n"]), hn, hn.stride(0), drh, dxw, dz, dh,
                ACT=code(self.act), RACT=code(self.ract), RESET_AFTER=self.reset_after,
            )
            if not self.reset_after:  # a_n = x_n + W_hn (r * h) + b_hn: on to stage 0
                return StageGrad(drh=drh, carry={"dz": dz, "dn": drh, "dh": dh})
            return StageGrad(drh=drh, dxw=dxw, dstate=(dh,))
        d_rh = rows(dout)  # dL/d(r * h), carried back through W_hn by the engine
        dxw, dh = h.new_empty(h.shape[0], 3 * H), h.new_empty(h.shape)
        launch(
            gru_reset_before_gates_backward, *h.shape, d_rh, h, r, *(rows(carry[k]) for k in ("dz", "dn", "dh")), dxw, dh,
            RACT=code(self.ract),
        )
        return StageGrad(drh=dxw[:, : 2 * H], dxw=dxw, dstate=(dh,))
