// Gated recurrent unit: cells/gru.py's pointwise stages, line by line.
//
//     r  = σ(W_ir x + b_ir + W_hr h + b_hr)                 reset gate
//     z  = σ(W_iz x + b_iz + W_hz h + b_hz)                 update gate
//     n  = act(W_in x + b_in + r * (W_hn h + b_hn))         reset_after (one product)
//     n  = act(W_in x + b_in + W_hn (r * h) + b_hn)         reset before (stage 1, after W_hn (r * h))
//     h' = (1 - z) * n + z * h
//
// saved: r, z, n, then hn = W_hn h + b_hn (reset_after). carry (reset before): dz, dn, dh.
#pragma once

#include "cell.h"

namespace rnnkit {

template <typename T>
struct GRU {
    static constexpr bool state0_direct = true;  // h' = ... + z * h
    int64_t H;
    bool reset_after;
    Act act, ract;
    int64_t saved, carry, extras = 0, scratch = 0;

    explicit GRU(const Options& o)
        : H(o.hidden_size), reset_after(o.ints[0]), act(Act(o.ints[1])), ract(Act(o.ints[2])) {
        saved = reset_after ? 4 * H : 3 * H;
        carry = reset_after ? 0 : 3 * H;
    }

    void pointwise(int k, const Fwd<T>& q) const {
        const T* __restrict h = q.state[0];
        const T* __restrict x_rz = q.xw;  // (2H) W_i{r,z} x + b_i{r,z}
        const T* __restrict x_n = q.xw + 2 * H;
        T* __restrict r = q.saved;
        T* __restrict z = q.saved + H;
        T* __restrict n = q.saved + 2 * H;
        if (reset_after) {  // rh (3H) = W_hh h + b_hh
            const T* __restrict h_rz = q.rh;
            const T* __restrict hn = q.rh + 2 * H;
            for (int64_t j = 0; j < 2 * H; ++j) r[j] = x_rz[j] + h_rz[j];  // r, z = ract(x_rz + h_rz)
            activate(ract, r, r, 2 * H);
            for (int64_t j = 0; j < H; ++j) n[j] = x_n[j] + r[j] * hn[j];  // n = act(W_in x + b_in + r * (W_hn h + b_hn))
            activate(act, n, n, H);
            T* __restrict h_new = q.next[0];
            for (int64_t j = 0; j < H; ++j) h_new[j] = n[j] + z[j] * (h[j] - n[j]);  // lerp(n, h, z)
            copy(hn, q.saved + 3 * H, H);
            return;
        }
        if (k == 0) {  // rh (2H) = W_h{r,z} h + b_h{r,z}
            for (int64_t j = 0; j < 2 * H; ++j) r[j] = x_rz[j] + q.rh[j];  // r, z = ract(x_rz + rh)
            activate(ract, r, r, 2 * H);
            T* __restrict rh_ = q.out;
            for (int64_t j = 0; j < H; ++j) rh_[j] = r[j] * h[j];  // r * h: the operand of W_hn
            return;
        }
        for (int64_t j = 0; j < H; ++j) n[j] = x_n[j] + q.rh[j];  // n = act(x_n + rh), rh (H) = W_hn (r * h) + b_hn
        activate(act, n, n, H);
        T* __restrict h_new = q.next[0];
        for (int64_t j = 0; j < H; ++j) h_new[j] = n[j] + z[j] * (h[j] - n[j]);  // lerp(n, h, z)
    }

    void pointwise_backward(int k, const Bwd<T>& q) const {
        const T* __restrict h = q.state[0];
        const T* __restrict r = q.saved;
        const T* __restrict z = q.saved + H;
        if (reset_after || k == 1) {  // h' = (1 - z) n + z h
            const T* __restrict dh_new = q.dout[0];
            const T* __restrict n = q.saved + 2 * H;
            // reset_after: drh = (dr, dz, dn * r), dxw = (dr, dz, dn); reset before: drh = dn, carry (dz, dn, dh)
            T* __restrict dr = q.dxw;
            T* __restrict dz = reset_after ? q.dxw + H : q.carry;
            T* __restrict dn = reset_after ? q.dxw + 2 * H : q.carry + H;
            T* __restrict dh = reset_after ? q.dstate[0] : q.carry + 2 * H;
            for (int64_t j = 0; j < H; ++j) dh[j] = dh_new[j] * z[j];  // the direct path
            for (int64_t j = 0; j < H; ++j) dn[j] = dh_new[j] - dh[j];  // ... through n = act(a_n)
            activate_backward(act, n, dn, dn, H);
            for (int64_t j = 0; j < H; ++j) dz[j] = dh_new[j] * (h[j] - n[j]);  // ... and through z
            activate_backward(ract, z, dz, dz, H);
            if (!reset_after) {  // a_n = x_n + W_hn (r * h) + b_hn: on to stage 0
                copy<T>(dn, q.drh, H);
                return;
            }
            const T* __restrict hn = q.saved + 3 * H;
            for (int64_t j = 0; j < H; ++j) dr[j] = dn[j] * hn[j];  // a_n = x_n + r * hn
            activate_backward(ract, r, dr, dr, H);
            copy<T>(q.dxw, q.drh, 2 * H);
            for (int64_t j = 0; j < H; ++j) q.drh[2 * H + j] = dn[j] * r[j];
            return;
        }
        const T* __restrict d_rh = q.dout[0];  // dL/d(r * h), carried back through W_hn by the engine
        T* __restrict dr = q.dxw;
        for (int64_t j = 0; j < H; ++j) dr[j] = d_rh[j] * h[j];
        activate_backward(ract, r, dr, dr, H);
        copy<T>(q.carry, q.dxw + H, 2 * H);  // d_rz = (dr, dz); dxw = (d_rz, dn)
        copy<T>(q.dxw, q.drh, 2 * H);
        T* __restrict dh = q.dstate[0];
        for (int64_t j = 0; j < H; ++j) dh[j] = q.carry[2 * H + j] + d_rh[j] * r[j];
    }

    // r, z, n, h
    std::vector<at::Tensor> record(const at::Tensor& saved_, const std::vector<at::Tensor>& next) const {
        auto gates = saved_.narrow(-1, 0, 3 * H).split(H, -1);
        return {gates[0], gates[1], gates[2], next[0]};
    }

    std::vector<at::Tensor> parameter_grads(const std::vector<at::Tensor>&, const std::vector<at::Tensor>&,
                                            const at::Tensor&, const at::Tensor&, const at::Tensor&) const {
        return {};
    }
};

}  // namespace rnnkit
