// The compiled CPU engine's operators, torch.ops.rnnkit_cpu.*: the time loop (loop.h) run
// with a cell chosen by its family, in float or double, and each pointwise stage on its own
// (for the per-step tests against the Python cells).
#include <torch/library.h>

#include <string>

#include "ctrnn.h"
#include "elman.h"
#include "gru.h"
#include "jordan.h"
#include "loop.h"
#include "lstm.h"

namespace rnnkit {
namespace {

// f(cell) with the cell of `family` (CellSpec.family) built from its options.
template <typename T, typename F>
std::vector<at::Tensor> with_cell(const std::string& family, const Options& o, F&& f) {
    if (family == "LSTM") return f(LSTM<T>(o));
    if (family == "GRU") return f(GRU<T>(o));
    if (family == "Elman") return f(Elman<T>(o));
    if (family == "Jordan") return f(Jordan<T>(o));
    if (family == "CTRNN") return f(CTRNN<T>(o));
    TORCH_CHECK(false, "rnnkit's compiled CPU engine has no ", family, " cell");
}

template <typename F>
std::vector<at::Tensor> dispatch(const at::Tensor& like, const std::string& family, int64_t hidden_size,
                                 at::IntArrayRef ints, at::ArrayRef<double> floats, at::TensorList tensors, F&& f) {
    Options o{hidden_size, ints.vec(), floats.vec(), {}};
    for (const auto& t : tensors) o.tensors.push_back(t.contiguous());
    std::vector<at::Tensor> result;
    AT_DISPATCH_FLOATING_TYPES(like.scalar_type(), "rnnkit_cpu", [&] {
        result = with_cell<scalar_t>(family, o, [&](const auto& cell) { return f(cell, scalar_t(0)); });
    });
    return result;
}

Products products(at::TensorList W, const c10::List<std::optional<at::Tensor>>& b, c10::List<bool> plus_input,
                  bool backward) {
    Products p;
    for (size_t k = 0; k < W.size(); ++k) {
        p.W.push_back(W[k].contiguous());
        p.panels.push_back(panels(backward ? p.W[k] : p.W[k].t()));
        std::optional<at::Tensor> bias = b.get(k);
        p.b.push_back(bias ? bias->contiguous() : at::Tensor());
        p.plus_input.push_back(plus_input.get(k));
    }
    return p;
}

std::vector<at::Tensor> contiguous(at::TensorList ts) {
    std::vector<at::Tensor> out;
    for (const auto& t : ts) out.push_back(t.contiguous());
    return out;
}

std::vector<at::Tensor> forward_op(const std::string& family, int64_t hidden_size, at::IntArrayRef ints,
                                   at::ArrayRef<double> floats, at::TensorList tensors, const at::Tensor& x,
                                   const at::Tensor& w_ih, const std::optional<at::Tensor>& b_ih,
                                   at::TensorList state, at::TensorList W, const c10::List<std::optional<at::Tensor>>& b,
                                   c10::List<bool> plus_input, at::IntArrayRef sizes, bool reverse, bool keep,
                                   int64_t block) {
    Products p = products(W, b, plus_input, false);
    auto xc = x.contiguous(), wc = w_ih.contiguous(), bc = b_ih ? b_ih->contiguous() : at::Tensor();
    auto st = contiguous(state);
    return dispatch(xc, family, hidden_size, ints, floats, tensors, [&](const auto& cell, auto zero) {
        return forward<decltype(zero)>(cell, p, xc, wc, bc, st, sizes.vec(), reverse, keep, block);
    });
}

std::vector<at::Tensor> backward_op(const std::string& family, int64_t hidden_size, at::IntArrayRef ints,
                                    at::ArrayRef<double> floats, at::TensorList tensors, const at::Tensor& x,
                                    const at::Tensor& w_ih, const at::Tensor& dout, at::TensorList dfinal,
                                    at::TensorList states, const at::Tensor& saved, at::TensorList operands,
                                    at::TensorList W, c10::List<bool> plus_input, at::IntArrayRef sizes, bool reverse,
                                    int64_t block, bool need_dx) {
    c10::List<std::optional<at::Tensor>> no_bias;
    for (size_t k = 0; k < W.size(); ++k) no_bias.push_back(std::nullopt);
    Products p = products(W, no_bias, plus_input, true);
    std::vector<at::Tensor> ops{at::Tensor()};  // operand 0 is the state: loop.h reads it there
    for (const auto& t : operands) ops.push_back(t.contiguous());
    auto xc = x.contiguous(), wc = w_ih.contiguous(), dc = dout.contiguous();
    auto df = contiguous(dfinal), st = contiguous(states);
    return dispatch(xc, family, hidden_size, ints, floats, tensors, [&](const auto& cell, auto zero) {
        return backward<decltype(zero)>(cell, p, xc, wc, dc, df, st, saved.contiguous(), ops, sizes.vec(), reverse,
                                        block, need_dx);
    });
}

// Stage k of one step on (B, .) tensors: {its output (the operand of product k + 1, or each
// new state)}; saved (B, cell.saved) is read and written in place.
std::vector<at::Tensor> pointwise_op(const std::string& family, int64_t hidden_size, at::IntArrayRef ints,
                                     at::ArrayRef<double> floats, at::TensorList tensors, int64_t k,
                                     const at::Tensor& xw, const at::Tensor& rh, at::TensorList state,
                                     at::Tensor saved, int64_t out_size) {
    auto st = contiguous(state);
    auto xc = xw.contiguous(), rc = rh.contiguous();
    return dispatch(xc, family, hidden_size, ints, floats, tensors, [&](const auto& cell, auto zero) {
        using T = decltype(zero);
        const int64_t B = xc.size(0);
        std::vector<at::Tensor> out;
        if (out_size) out.push_back(at::empty({B, out_size}, xc.options()));
        else for (const auto& s : st) out.push_back(at::empty_like(s));
        for (int64_t row = 0; row < B; ++row) {
            Fwd<T> r{data<T>(xc) + row * xc.size(1), data<T>(rc) + row * rc.size(1), {}, nullptr, {},
                     saved.data_ptr<T>() + row * saved.size(1)};
            if (out_size) r.out = out[0].data_ptr<T>() + row * out_size;
            for (size_t i = 0; i < st.size(); ++i) {
                r.state[i] = data<T>(st[i]) + row * st[i].size(1);
                if (!out_size) r.next[i] = out[i].data_ptr<T>() + row * st[i].size(1);
            }
            cell.pointwise(k, r);
        }
        return out;
    });
}

// Stage k's backward on (B, .) tensors: {drh (B, drh_size), dxw (B, G), dstate..., extras};
// carry (B, cell.carry) is read and written in place; dout holds one tensor per state (the
// last stage) or dL/d(the stage's output).
std::vector<at::Tensor> pointwise_backward_op(const std::string& family, int64_t hidden_size, at::IntArrayRef ints,
                                              at::ArrayRef<double> floats, at::TensorList tensors, int64_t k,
                                              at::TensorList dout, at::Tensor carry, at::TensorList state,
                                              at::TensorList next, const at::Tensor& saved, int64_t drh_size,
                                              int64_t G) {
    auto d = contiguous(dout), st = contiguous(state), nx = contiguous(next);
    auto sv = saved.contiguous();
    return dispatch(sv, family, hidden_size, ints, floats, tensors, [&](const auto& cell, auto zero) {
        using T = decltype(zero);
        const int64_t B = sv.size(0);
        auto opts = sv.options();
        std::vector<at::Tensor> out{at::zeros({B, drh_size}, opts), at::zeros({B, G}, opts)};
        for (const auto& s : st) out.push_back(at::zeros_like(s));
        out.push_back(at::zeros({B, std::max<int64_t>(cell.extras, 1)}, opts));
        at::Tensor scratch = at::empty({std::max<int64_t>(cell.scratch, 1)}, opts);
        for (int64_t row = 0; row < B; ++row) {
            Bwd<T> r{{}, carry.data_ptr<T>() + row * carry.size(1), {}, {}, data<T>(sv) + row * sv.size(1),
                     out[0].data_ptr<T>() + row * drh_size, out[1].data_ptr<T>() + row * G, {},
                     out.back().data_ptr<T>() + row * out.back().size(1), scratch.data_ptr<T>()};
            for (size_t i = 0; i < d.size(); ++i) r.dout[i] = data<T>(d[i]) + row * d[i].size(1);
            for (size_t i = 0; i < st.size(); ++i) {
                r.state[i] = data<T>(st[i]) + row * st[i].size(1);
                r.next[i] = data<T>(nx[i]) + row * nx[i].size(1);
                r.dstate[i] = out[2 + i].data_ptr<T>() + row * st[i].size(1);
            }
            cell.pointwise_backward(k, r);
        }
        return out;
    });
}

// what a recording shows of every step, in the order of the cell's `recorded`: from saved
// (T, B, saved) and the states after each step (T, B, S)
std::vector<at::Tensor> record_op(const std::string& family, int64_t hidden_size, at::IntArrayRef ints,
                                  at::ArrayRef<double> floats, at::TensorList tensors, const at::Tensor& saved,
                                  at::TensorList next) {
    auto nx = next.vec();
    return dispatch(saved, family, hidden_size, ints, floats, tensors,
                    [&](const auto& cell, auto) { return cell.record(saved, nx); });
}

// the widths of a cell's per-row buffers: {saved, carry, extras}
std::vector<int64_t> widths(const std::string& family, int64_t hidden_size, at::IntArrayRef ints,
                            at::ArrayRef<double> floats, at::TensorList tensors) {
    std::vector<int64_t> w;
    dispatch(tensors.empty() ? at::empty({0}, at::kDouble) : tensors[0], family, hidden_size, ints, floats, tensors,
             [&](const auto& cell, auto) {
                 w = {cell.saved, cell.carry, cell.extras};
                 return std::vector<at::Tensor>{};
             });
    return w;
}

}  // namespace
}  // namespace rnnkit

TORCH_LIBRARY(rnnkit_cpu, m) {
    const std::string cell = "str family, int hidden_size, int[] ints, float[] floats, Tensor[] tensors, ";
    m.def(("forward(" + cell +
              "Tensor x, Tensor w_ih, Tensor? b_ih, Tensor[] state, Tensor[] W, Tensor?[] b, bool[] plus_input, "
              "int[] sizes, bool reverse, bool keep, int block) -> Tensor[]").c_str(),
          &rnnkit::forward_op);
    m.def(("backward(" + cell +
              "Tensor x, Tensor w_ih, Tensor dout, Tensor[] dfinal, Tensor[] states, Tensor saved, "
              "Tensor[] operands, Tensor[] W, bool[] plus_input, int[] sizes, bool reverse, int block, bool need_dx) "
              "-> Tensor[]").c_str(),
          &rnnkit::backward_op);
    m.def(("pointwise(" + cell +
              "int k, Tensor xw, Tensor rh, Tensor[] state, Tensor(a!) saved, int out_size) -> Tensor[]").c_str(),
          &rnnkit::pointwise_op);
    m.def(("pointwise_backward(" + cell +
              "int k, Tensor[] dout, Tensor(a!) carry, Tensor[] state, Tensor[] next, Tensor saved, int drh_size, "
              "int G) -> Tensor[]").c_str(),
          &rnnkit::pointwise_backward_op);
    m.def(("record(" + cell + "Tensor saved, Tensor[] next) -> Tensor[]").c_str(), &rnnkit::record_op);
    m.def(("widths(" + cell.substr(0, cell.size() - 2) + ") -> int[]").c_str(), &rnnkit::widths);
}
