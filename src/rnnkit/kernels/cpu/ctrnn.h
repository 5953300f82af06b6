// Continuous-time RNN: cells/ctrnn.py's pointwise stage, line by line.
//
//     r  = act(W_ih x + b_ih + W_hh h + b_hh)
//     h' = (1 - a) h + a r,   a = dt / tau    (per unit with learn_tau: a = dt exp(-log_tau))
//
// saved: r. extras (learn_tau): dh'. The tensors: [log_tau,] a, 1 - a, each a scalar or (H,).
#pragma once

#include "cell.h"

namespace rnnkit {

template <typename T>
struct CTRNN {
    static constexpr bool state0_direct = true;  // the leak path
    int64_t H;
    Act act;
    bool learn_tau;
    int64_t saved, carry = 0, extras, scratch = 0;
    at::Tensor a_;
    const T *a, *one_minus_a;
    int64_t step;  // 0 for a scalar a, 1 for one per unit

    explicit CTRNN(const Options& o)
        : H(o.hidden_size), act(Act(o.ints[0])), learn_tau(o.ints[1]), saved(o.hidden_size),
          extras(learn_tau ? o.hidden_size : 0) {
        a_ = o.tensors[learn_tau ? 1 : 0];
        a = data<T>(a_), one_minus_a = data<T>(o.tensors[learn_tau ? 2 : 1]);
        step = a_.numel() == 1 ? 0 : 1;
    }

    void pointwise(int, const Fwd<T>& q) const {  // rh (H) = W_ih x + b_ih + b_hh + W_hh h
        const T* __restrict h = q.state[0];
        T* __restrict r = q.saved;
        T* __restrict h_new = q.next[0];
        activate(act, q.rh, r, H);  // r = act(rh)
        for (int64_t j = 0; j < H; ++j) h_new[j] = h[j] + a[j * step] * (r[j] - h[j]);  // lerp(h, r, a)
    }

    void pointwise_backward(int, const Bwd<T>& q) const {
        const T* __restrict dh_new = q.dout[0];
        const T* __restrict r = q.saved;
        T* __restrict dpre = q.drh;
        for (int64_t j = 0; j < H; ++j) dpre[j] = a[j * step] * dh_new[j];  // h' = h + a (r - h), r = act(pre)
        activate_backward(act, r, dpre, dpre, H);
        copy<T>(dpre, q.dxw, H);
        for (int64_t j = 0; j < H; ++j) q.dstate[0][j] = one_minus_a[j * step] * dh_new[j];  // the leak path
        if (learn_tau) copy<T>(dh_new, q.extras, H);
    }

    // r, h
    std::vector<at::Tensor> record(const at::Tensor& saved_, const std::vector<at::Tensor>& next) const {
        return {saved_, next[0]};
    }

    // log_tau: dh'/da = r - h and da/dlog_tau = -a
    std::vector<at::Tensor> parameter_grads(const std::vector<at::Tensor>& prev, const std::vector<at::Tensor>&,
                                            const at::Tensor& saved_, const at::Tensor&,
                                            const at::Tensor& extras_) const {
        if (!learn_tau) return {};
        return {-a_ * (extras_ * (saved_ - prev[0])).sum({0, 1})};
    }
};

}  // namespace rnnkit
