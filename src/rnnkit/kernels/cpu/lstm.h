// Long short-term memory: cells/lstm.py's pointwise stages, line by line.
//
//     i = σ(W_ii x + b_ii + W_hi h + b_hi [+ w_ci * c])     input gate
//     f = σ(W_if x + b_if + W_hf h + b_hf [+ w_cf * c])     forget gate
//     g = act(W_ig x + b_ig + W_hg h + b_hg)                candidate
//     c' = f * c + i * g                                    (c + i * g without f)
//     o = σ(W_io x + b_io + W_ho h + b_ho [+ w_co * c'])    output gate
//     m = o * act(c')
//     h' = m, or W_hr m with a projection (stage 1)
//
// saved: the gates in gate order, then c' (read by stage 1 with a projection).
#pragma once

#include "cell.h"

namespace rnnkit {

template <typename T>
struct LSTM {
    static constexpr bool state0_direct = false;  // h reaches h' only through W_hh h
    int64_t H, proj_size;
    Act act, ract;
    bool peephole, forget_gate;
    int64_t n_gates, saved, carry, extras = 0, scratch;
    const T *w_ci = nullptr, *w_cf = nullptr, *w_co = nullptr;

    explicit LSTM(const Options& o)
        : H(o.hidden_size), proj_size(o.ints[0]), act(Act(o.ints[1])), ract(Act(o.ints[2])),
          peephole(o.ints[3]), forget_gate(o.ints[4]) {
        n_gates = forget_gate ? 4 : 3;
        saved = n_gates * H + H;
        carry = proj_size ? H : 0;
        scratch = 2 * H;
        if (peephole) {  // weight_peephole (3, H): (w_ci, w_cf, w_co), or (2, H): (w_ci, w_co)
            const T* w = data<T>(o.tensors[0]);
            w_ci = w, w_cf = forget_gate ? w + H : nullptr, w_co = w + (n_gates - 2) * H;
        }
    }

    // the gates in saved (and in rh, drh): i, f, g, o, or i, g, o
    int64_t gate(char name) const {
        const int64_t k = name == 'i' ? 0 : name == 'f' ? 1 : name == 'g' ? 2 : 3;
        return (forget_gate || k == 0 ? k : k - 1) * H;
    }

    void pointwise(int k, const Fwd<T>& r) const {
        if (k == 1) {  // rh (P) = W_hr m: the projection
            copy(r.rh, r.next[0], proj_size);
            copy(r.saved + n_gates * H, r.next[1], H);  // c', kept by stage 0
            return;
        }
        const T* __restrict pre = r.rh;  // (G) W_ih x + b_ih + b_hh + W_hh h
        const T* __restrict c = r.state[1];
        T* __restrict i = r.saved + gate('i');
        T* __restrict g = r.saved + gate('g');
        T* __restrict o = r.saved + gate('o');
        T* __restrict c_new = proj_size ? r.saved + n_gates * H : r.next[1];
        T* __restrict m = proj_size ? r.out : r.next[0];
        if (peephole) {  // (+ w_ci * c)
            for (int64_t j = 0; j < H; ++j) i[j] = pre[gate('i') + j] + w_ci[j] * c[j];
            activate(ract, i, i, H);
        } else {
            activate(ract, pre + gate('i'), i, H);
        }
        activate(act, pre + gate('g'), g, H);
        if (forget_gate) {
            T* __restrict f = r.saved + gate('f');
            if (peephole) {
                for (int64_t j = 0; j < H; ++j) f[j] = pre[gate('f') + j] + w_cf[j] * c[j];
                activate(ract, f, f, H);
            } else {
                activate(ract, pre + gate('f'), f, H);
            }
            for (int64_t j = 0; j < H; ++j) c_new[j] = f[j] * c[j] + i[j] * g[j];  // f * c + i * g
        } else {
            for (int64_t j = 0; j < H; ++j) c_new[j] = c[j] + i[j] * g[j];  // c + i * g
        }
        if (peephole) {
            for (int64_t j = 0; j < H; ++j) o[j] = pre[gate('o') + j] + w_co[j] * c_new[j];
            activate(ract, o, o, H);
        } else {
            activate(ract, pre + gate('o'), o, H);
        }
        activate(act, c_new, m, H);  // m = o * act(c')
        for (int64_t j = 0; j < H; ++j) m[j] *= o[j];
    }

    void pointwise_backward(int k, const Bwd<T>& r) const {
        if (k == 1) {  // h' = W_hr m: the engine carries dh' back through W_hr; dc' waits for stage 0
            copy(r.dout[0], r.drh, proj_size);
            copy(r.dout[1], r.carry, H);
            return;
        }
        const T* __restrict dm = r.dout[0];
        const T* __restrict dc_in = proj_size ? r.carry : r.dout[1];
        const T* __restrict c = r.state[1];
        const T* __restrict c_new = r.next[1];
        const T* __restrict i = r.saved + gate('i');
        const T* __restrict g = r.saved + gate('g');
        const T* __restrict o = r.saved + gate('o');
        T* __restrict dpre = r.drh;
        T* __restrict di = dpre + gate('i');
        T* __restrict dg = dpre + gate('g');
        T* __restrict do_ = dpre + gate('o');
        T* __restrict act_c = r.scratch;
        T* __restrict dc_new = r.scratch + H;
        T* __restrict dc = r.dstate[1];
        activate(act, c_new, act_c, H);
        for (int64_t j = 0; j < H; ++j) do_[j] = dm[j] * act_c[j];  // m = o * act(c'): through the output gate
        activate_backward(ract, o, do_, do_, H);
        for (int64_t j = 0; j < H; ++j) dc_new[j] = dm[j] * o[j];  // ... and through act(c')
        activate_backward(act, act_c, dc_new, dc_new, H);
        for (int64_t j = 0; j < H; ++j) dc_new[j] += dc_in[j];
        if (peephole)  // o saw c' through its peephole
            for (int64_t j = 0; j < H; ++j) dc_new[j] += do_[j] * w_co[j];
        for (int64_t j = 0; j < H; ++j) di[j] = dc_new[j] * g[j];  // c' = f c + i g
        activate_backward(ract, i, di, di, H);
        for (int64_t j = 0; j < H; ++j) dg[j] = dc_new[j] * i[j];
        activate_backward(act, g, dg, dg, H);
        if (forget_gate) {
            const T* __restrict f = r.saved + gate('f');
            T* __restrict df = dpre + gate('f');
            for (int64_t j = 0; j < H; ++j) df[j] = dc_new[j] * c[j];
            activate_backward(ract, f, df, df, H);
            for (int64_t j = 0; j < H; ++j) dc[j] = dc_new[j] * f[j];
        } else {
            copy<T>(dc_new, dc, H);  // the constant error carousel
        }
        if (peephole) {  // i and f saw c through theirs
            for (int64_t j = 0; j < H; ++j) dc[j] += di[j] * w_ci[j];
            if (forget_gate)
                for (int64_t j = 0; j < H; ++j) dc[j] += dpre[gate('f') + j] * w_cf[j];
        }
        copy<T>(dpre, r.dxw, n_gates * H);  // drh = dxw = dpre
    }

    // what a recording shows, from saved (T, B, saved) and the new states (T, B, S): i, f, g, o, h, c
    std::vector<at::Tensor> record(const at::Tensor& saved_, const std::vector<at::Tensor>& next) const {
        auto gates = saved_.narrow(-1, 0, n_gates * H).split(H, -1);
        std::vector<at::Tensor> out(gates.begin(), gates.end());
        out.insert(out.end(), next.begin(), next.end());
        return out;
    }

    // weight_peephole: i saw c, f saw c, o saw c'
    std::vector<at::Tensor> parameter_grads(
        const std::vector<at::Tensor>& prev, const std::vector<at::Tensor>& next, const at::Tensor& saved_,
        const at::Tensor& dxw, const at::Tensor& extras_) const {
        if (!peephole) return {};
        auto d = dxw.split(H, -1);
        std::vector<at::Tensor> rows{(d[0] * prev[1]).sum({0, 1})};
        if (forget_gate) rows.push_back((d[1] * prev[1]).sum({0, 1}));
        rows.push_back((d[n_gates - 1] * next[1]).sum({0, 1}));
        return {at::stack(rows)};
    }
};

}  // namespace rnnkit
