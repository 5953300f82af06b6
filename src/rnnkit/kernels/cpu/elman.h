// Elman RNN: cells/elman.py's pointwise stage, line by line.
//
//     h' = act(W_ih x + b_ih + W_hh h + b_hh)
#pragma once

#include "cell.h"

namespace rnnkit {

template <typename T>
struct Elman {
    static constexpr bool state0_direct = false;  // h reaches h' only through W_hh h
    int64_t H;
    Act act;
    int64_t saved = 0, carry = 0, extras = 0, scratch = 0;

    explicit Elman(const Options& o) : H(o.hidden_size), act(Act(o.ints[0])) {}

    void pointwise(int, const Fwd<T>& q) const {  // rh (H) = W_ih x + b_ih + b_hh + W_hh h
        activate(act, q.rh, q.next[0], H);  // h = act(rh)
    }

    void pointwise_backward(int, const Bwd<T>& q) const {
        activate_backward(act, q.next[0], q.dout[0], q.drh, H);  // through act: da = dL/drh = dL/dxw
        copy<T>(q.drh, q.dxw, H);
    }

    // h
    std::vector<at::Tensor> record(const at::Tensor&, const std::vector<at::Tensor>& next) const { return {next[0]}; }

    std::vector<at::Tensor> parameter_grads(const std::vector<at::Tensor>&, const std::vector<at::Tensor>&,
                                            const at::Tensor&, const at::Tensor&, const at::Tensor&) const {
        return {};
    }
};

}  // namespace rnnkit
