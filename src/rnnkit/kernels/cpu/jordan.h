// Jordan RNN: cells/jordan.py's pointwise stages, line by line.
//
//     h  = act(W_ih x + W_hy y + b_h)        stage 0
//     y' = out_act(W_ho h + b_o)             stage 1
//
// saved: h.
#pragma once

#include "cell.h"

namespace rnnkit {

template <typename T>
struct Jordan {
    static constexpr bool state0_direct = false;  // y reaches y' only through W_hy y
    int64_t H, O;
    Act act, out_act;
    int64_t saved, carry = 0, extras = 0, scratch = 0;

    explicit Jordan(const Options& o)
        : H(o.hidden_size), O(o.ints[0]), act(Act(o.ints[1])), out_act(Act(o.ints[2])), saved(o.hidden_size) {}

    void pointwise(int k, const Fwd<T>& q) const {
        if (k == 0) {  // rh (H) = W_ih x + b_h + W_hy y
            activate(act, q.rh, q.saved, H);  // h = act(rh)
            copy<T>(q.saved, q.out, H);
            return;
        }
        activate(out_act, q.rh, q.next[0], O);  // rh (O) = W_ho h + b_o
    }

    void pointwise_backward(int k, const Bwd<T>& q) const {
        if (k == 1) {
            activate_backward(out_act, q.next[0], q.dout[0], q.drh, O);  // q = W_ho h + b_o
            return;
        }
        activate_backward(act, q.saved, q.dout[0], q.drh, H);  // a = W_ih x + W_hy y + b_h; dout = dL/dh
        copy<T>(q.drh, q.dxw, H);
    }

    // h, y
    std::vector<at::Tensor> record(const at::Tensor& saved_, const std::vector<at::Tensor>& next) const {
        return {saved_, next[0]};
    }

    std::vector<at::Tensor> parameter_grads(const std::vector<at::Tensor>&, const std::vector<at::Tensor>&,
                                            const at::Tensor&, const at::Tensor&, const at::Tensor&) const {
        return {};
    }
};

}  // namespace rnnkit
