// The one time loop, forward and backward, for every cell: the C++ side of engines/fused.py.
//
// Forward, per block of steps: the input projection xw (one GEMM); then the block's steps,
// the rows of the batch shared out over the threads (rows_apart); per step: each product as
// one GEMM on the active rows (rh = a W^T + b; for a plus_input product the GEMM adds a W^T
// into xw_t itself, this engine's own copy, which then is rh), each followed by the cell's
// pointwise stage, row by row. Rows past the step's batch size (a packed batch) keep their
// state. With `keep` (a gradient will be asked for, or a recording) every state, saved row and
// operand is kept; otherwise only the last.
//
// Everything is indexed by time t, in both directions: the states before and after step t are
// states[t] and states[t + 1] forwards, states[t + 1] and states[t] in reverse, so the
// outputs are states[0][1:] or states[0][:T] as they lie, and every block of steps is one
// slice of x, of the states and of what was saved.
//
// Backward, per block of steps from the last run to the first, its rows shared out as
// forwards; per step from the last run to the first: the cell's stages' backward from the
// last to the first, between stages the product's gradient back through its weight (one
// GEMM), after stage 0 into dL/dstate[0] (one GEMM). After each block of steps, each weight
// gradient is one GEMM over the block (dW = sum_t drh_t^T a_t), as is the input gradient.
//
// Shapes: T time, B batch, I input, G input projection, S a state's size, R a product's size.
#pragma once

#include <ATen/Parallel.h>
#include <ATen/native/CPUBlas.h>

#include <algorithm>
#include <cstring>

#include "cell.h"

extern "C" {  // BLAS as torch's MKL exports it; absent elsewhere, at::addmm runs instead
void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*, const float*, const int*,
            const float*, const int*, const float*, float*, const int*) __attribute__((weak));
void dgemm_(const char*, const char*, const int*, const int*, const int*, const double*, const double*, const int*,
            const double*, const int*, const double*, double*, const int*) __attribute__((weak));
}

namespace rnnkit {

inline void blas(char ta, char tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float beta,
                 float* c, int ldc) {
    const float one = 1;
    sgemm_(&ta, &tb, &m, &n, &k, &one, a, &lda, b, &ldb, &beta, c, &ldc);
}
inline void blas(char ta, char tb, int m, int n, int k, const double* a, int lda, const double* b, int ldb, double beta,
                 double* c, int ldc) {
    const double one = 1;
    dgemm_(&ta, &tb, &m, &n, &k, &one, a, &lda, b, &ldb, &beta, c, &ldc);
}
template <typename T>
bool have_blas() {
    return std::is_same<T, float>::value ? sgemm_ != nullptr : dgemm_ != nullptr;
}

template <typename T>
at::Tensor view(const T* p, at::IntArrayRef shape) {
    return at::from_blob(const_cast<T*>(p), shape, at::CPU(c10::CppTypeToScalarType<T>::value));
}

// Float GEMMs run on oneDNN's brgemm kernel (torch's cpublas::brgemm, one thread per call)
// where this torch has it: on this project's AMD EPYC 1.5-3x the rate of torch's BLAS at
// every batch size (its sgemm takes a slower path on this CPU). The right-hand side is
// packed in panels (Panels); each GEMM splits its panels over torch's threads where each
// thread gets at least BRGEMM_WORK multiply-adds (below that, starting a thread costs more
// than it saves), and runs each panel in blocks of BRGEMM_ROWS rows, the sum in stretches of
// BRGEMM_DEPTH (a stretch of the panel, at most 256 KiB, stays in cache while every block of
// rows passes through it: a weight gradient sums over a thousand rows).
constexpr int64_t BRGEMM_ROWS = 16, BRGEMM_PANEL = 256, BRGEMM_DEPTH = 256, BRGEMM_WORK = 1 << 19;

inline bool have_brgemm() {
    static const bool ok = [] {
        float a = 1, b = 1, c = 0;
        try {
            at::native::cpublas::brgemm(1, 1, 1, 1, 1, 1, false, &a, &b, &c, false);
        } catch (const std::exception&) {
            return false;
        }
        return c == 1;
    }();
    return ok;
}

// A GEMM's right-hand side B (K, N) for brgemm, in panels of `width` columns (the last may be
// narrower) that the threads share out: as many panels as threads, or a multiple of it where
// that keeps them at most BRGEMM_PANEL wide. Packed (a weight, read at every step), each
// panel is (K, its width) row-major, one after the other, so that a panel is one stretch of
// memory that stays in cache while every block of rows passes through it; unpacked (read
// once), a panel is B's columns where they lie, ld B's row length. Undefined data where
// brgemm does not run (double, or no brgemm): BLAS reads the weights as they are.
struct Panels {
    at::Tensor data;
    int64_t width = 0, ld = 0;  // ld 0: packed
    const float* panel(int64_t c0, int64_t K) const { return data.data_ptr<float>() + (ld ? c0 : c0 * K); }
};

inline int64_t panel_width(int64_t N) {
    const int64_t threads = at::get_num_threads();
    const int64_t count = threads * ((N + threads * BRGEMM_PANEL - 1) / (threads * BRGEMM_PANEL));
    return std::max<int64_t>(16, ((N + count - 1) / count + 15) / 16 * 16);
}

inline Panels panels(const at::Tensor& B) {
    if (B.scalar_type() != at::kFloat || !have_brgemm()) return {};
    const int64_t K = B.size(0), N = B.size(1), width = panel_width(N);
    at::Tensor data = at::empty({K * N}, B.options());
    for (int64_t c0 = 0; c0 < N; c0 += width) {
        const int64_t w = std::min(width, N - c0);
        data.narrow(0, c0 * K, K * w).view({K, w}).copy_(B.narrow(1, c0, w));
    }
    return {data, width};
}

inline Panels unpacked(const at::Tensor& B) { return {B, panel_width(B.size(1)), B.size(1)}; }

// C (M, N) = A (M, K) B (K, N) + (bias (N,) where given, else C with add, else 0), B in
// panels; each thread sets its own part of C to the bias, just before it adds to it.
inline void brgemm(int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldc, const float* bias, bool add,
                   const float* A, const Panels& B, float* C) {
    const int64_t width = B.width, grain = std::max<int64_t>(1, BRGEMM_WORK / std::max<int64_t>(M * K * width, 1));
    at::parallel_for(0, (N + width - 1) / width, grain, [&](int64_t p0, int64_t p1) {
        for (int64_t c0 = p0 * width; c0 < std::min(N, p1 * width); c0 += width) {
            const int64_t w = std::min(width, N - c0), ldb = B.ld ? B.ld : w;
            for (int64_t k0 = 0; k0 < K; k0 += BRGEMM_DEPTH) {
                const int64_t k = std::min(BRGEMM_DEPTH, K - k0);
                for (int64_t r = 0; r < M; r += BRGEMM_ROWS) {
                    const int64_t m = std::min(BRGEMM_ROWS, M - r);
                    if (bias && !k0)
                        for (int64_t row = r; row < r + m; ++row)
                            std::memcpy(C + row * ldc + c0, bias + c0, w * sizeof(float));
                    at::native::cpublas::brgemm(m, w, k, lda, ldb, ldc, add || bias || k0, A + r * lda + k0,
                                                B.panel(c0, K) + k0 * ldb, C + r * ldc + c0, false);
                }
            }
        }
    });
}

// f(row, work) for each row in [0, n), the rows split over torch's threads where each thread
// gets at least ROW_ELEMENTS elements of `width` per row (the pointwise stages of a step);
// work: `scratch` elements of working memory, one per thread.
constexpr int64_t ROW_ELEMENTS = 4096;

template <typename T, typename F>
void each_row(int64_t n, int64_t width, int64_t scratch, const F& f) {
    const int64_t grain = std::max<int64_t>(1, ROW_ELEMENTS / std::max<int64_t>(width, 1));
    at::parallel_for(0, n, grain, [&](int64_t r0, int64_t r1) {
        std::vector<T> work(scratch);
        for (int64_t row = r0; row < r1; ++row) f(row, work.data());
    });
}

// f(r0, r1) on rows [r0, r1) of a batch of B: the rows split over torch's threads where each
// thread gets at least SPLIT_ROWS of them, else all rows at once. The rows of a batch are
// sequences apart, so a thread runs its rows through a block of steps without waiting on
// another, and the products and stages inside run on that thread alone. Splitting every
// step's products by columns and its stages by rows instead made the threads meet two to four
// times a step and pass each new state from core to core: at a batch of 16 the reset-before
// GRU took 9-10 ms or 15 ms a forward, by the machine's mood; split by rows, 8-11 ms. At a
// batch of 8 (4 rows a thread) it is 10-20% faster than one thread on all rows.
constexpr int64_t SPLIT_ROWS = 4;

template <typename F>
void rows_apart(int64_t B, const F& f) {
    if (B >= 2 * SPLIT_ROWS && at::get_num_threads() > 1) at::parallel_for(0, B, SPLIT_ROWS, f);
    else f(0, B);
}

// How many of rows [r0, r1) take part in the step at time t: a packed batch's first sizes[t]
// rows, else all B.
inline int64_t active(const std::vector<int64_t>& sizes, int64_t t, int64_t B, int64_t r0, int64_t r1) {
    return std::max<int64_t>(0, std::min(sizes.empty() ? B : sizes[t], r1) - r0);
}

// C (n, R) = A (n, K) W^T + (bias (R,) where given, else C with add, else 0), W (R, K), Wt:
// panels(W^T): a product.
template <typename T>
void product(int64_t n, int64_t R, int64_t K, const T* A, const T* W, const Panels& Wt, const T* bias, bool add,
             T* C) {
    if (n == 0) return;
    if constexpr (std::is_same<T, float>::value)
        if (Wt.data.defined()) return brgemm(n, R, K, K, R, bias, add, A, Wt, C);
    if (bias)
        for (int64_t row = 0; row < n; ++row) std::memcpy(C + row * R, bias, R * sizeof(T));
    const T beta = add || bias ? T(1) : T(0);
    if (have_blas<T>()) return blas('T', 'N', R, n, K, W, K, A, K, beta, C, R);  // column-major C^T = W A^T
    view(C, {n, R}).addmm_(view(A, {n, K}), view(W, {R, K}).t(), beta, 1);
}

// C (n, K) = D (n, R) W + beta C, beta 0 or 1, W (R, K), Wp: panels(W): a product's gradient
// back to its operand.
template <typename T>
void product_back(int64_t n, int64_t R, int64_t K, const T* D, const T* W, const Panels& Wp, T beta, T* C) {
    if (n == 0) return;
    if constexpr (std::is_same<T, float>::value)
        if (Wp.data.defined()) return brgemm(n, K, R, R, K, nullptr, beta != T(0), D, Wp, C);
    if (have_blas<T>()) return blas('N', 'N', K, n, R, W, K, D, R, beta, C, K);  // column-major C^T = W^T D^T
    view(C, {n, K}).addmm_(view(D, {n, R}), view(W, {R, K}), beta, 1);
}

// dWt (K, R) += A (n, K)^T D (n, R), A and D contiguous: a weight's gradient over a block of
// steps, kept transposed. The sum runs down the rows of both operands; brgemm needs it along
// the rows of its left-hand one only, so just A, the narrower, is transposed (a copy), and D,
// the gates' gradient, is read where it lies.
template <typename T>
void weight_grad(const at::Tensor& D, const at::Tensor& A, at::Tensor& dWt) {
    if constexpr (std::is_same<T, float>::value)
        if (have_brgemm()) {
            const at::Tensor At = A.t().contiguous();
            const int64_t n = D.size(0), R = D.size(1), K = A.size(1);
            return brgemm(K, R, n, n, R, nullptr, true, At.data_ptr<float>(), unpacked(D), dWt.data_ptr<float>());
        }
    dWt.addmm_(A.t(), D);
}

struct Products {  // each product's weight rows W (R, K), panels of W^T (forward) or of W (backward), bias (R,)
                   // or undefined, and whether it is plus_input
    std::vector<at::Tensor> W, b;
    std::vector<Panels> panels;
    std::vector<bool> plus_input;
    size_t size() const { return W.size(); }
    int64_t R(size_t k) const { return W[k].size(0); }
    int64_t K(size_t k) const { return W[k].size(1); }
};

// Where a state of the step at time t lies: states[t] before and states[t + 1] after
// forwards, the other way in reverse.
inline int64_t before(int64_t t, bool reverse) { return reverse ? t + 1 : t; }
inline int64_t after(int64_t t, bool reverse) { return reverse ? t : t + 1; }

// Forward: {out (T, B, S_0), final states...} and, with keep, {states (T + 1, B, S)..., saved
// (T, B, saved), operands of the products after the first (T, B, K)...}. The input
// projection xw = x W_ih^T + b_ih, for `block` steps at a time: one GEMM each, into one small
// buffer (all of xw at once is tens of MiB at a batch of 64, and a fresh buffer of that size
// on every call costs more in page faults than the GEMM).
template <typename T, typename Cell>
std::vector<at::Tensor> forward(const Cell& cell, const Products& prods, const at::Tensor& x, const at::Tensor& w_ih,
                                const at::Tensor& b_ih, const std::vector<at::Tensor>& state,
                                const std::vector<int64_t>& sizes, bool reverse, bool keep, int64_t block) {
    const int64_t T_ = x.size(0), B = x.size(1), I = x.size(2), G = w_ih.size(0), n_states = state.size();
    const int64_t steps = std::min(block, T_);
    const bool packed = !sizes.empty();
    auto opts = x.options();
    auto alloc = [&](at::IntArrayRef shape) { return packed ? at::zeros(shape, opts) : at::empty(shape, opts); };
    at::Tensor xw = at::empty({steps, B, G}, opts);  // a block's times [t0, t0 + steps)
    const Panels w_ih_t = panels(w_ih.t());
    // the states: all of them with keep, else two slots used in turn (state 0 unpacked is the output: all)
    std::vector<at::Tensor> states(n_states);
    std::vector<int64_t> S(n_states);
    auto slot = [&](int64_t i, int64_t at) { return states[i].size(0) == T_ + 1 ? at : at % 2; };
    for (int64_t i = 0; i < n_states; ++i) {
        S[i] = state[i].size(1);
        states[i] = at::empty({keep || (i == 0 && !packed) ? T_ + 1 : 2, B, S[i]}, opts);
        states[i][slot(i, reverse ? T_ : 0)].copy_(state[i]);
    }
    at::Tensor out = packed ? at::zeros({T_, B, S[0]}, opts) : at::Tensor();
    at::Tensor saved = alloc({keep ? T_ : 1, B, cell.saved});
    std::vector<at::Tensor> operands(prods.size()), rh(prods.size());
    for (size_t k = 0; k < prods.size(); ++k) {
        if (k) operands[k] = alloc({keep ? T_ : 1, B, prods.K(k)});
        if (!prods.plus_input[k]) rh[k] = at::empty({B, prods.R(k)}, opts);
    }
    const int64_t Wsaved = cell.saved, last = prods.size() - 1;
    // step s of the block of times [t0, ...) on rows [r0, r1) of the batch
    auto step = [&](int64_t s, int64_t t0, int64_t r0, int64_t r1) {
        const int64_t t = reverse ? T_ - 1 - s : s, kt = keep ? t : 0, n = active(sizes, t, B, r0, r1);
        T* xw_t = xw.data_ptr<T>() + ((t - t0) * B + r0) * G;
        const T* prev[2] = {};
        T* next[2] = {};
        for (int64_t i = 0; i < n_states; ++i) {
            prev[i] = states[i].data_ptr<T>() + (slot(i, before(t, reverse)) * B + r0) * S[i];
            next[i] = states[i].data_ptr<T>() + (slot(i, after(t, reverse)) * B + r0) * S[i];
        }
        T* saved_t = saved.data_ptr<T>() + (kt * B + r0) * Wsaved;
        const T* a = prev[0];
        for (size_t k = 0; k < prods.size(); ++k) {
            const int64_t R = prods.R(k), K = prods.K(k);
            if (k) a = operands[k].data_ptr<T>() + (kt * B + r0) * K;
            T* rh_k = prods.plus_input[k] ? xw_t : rh[k].data_ptr<T>() + r0 * R;
            product<T>(n, R, K, a, prods.W[k].data_ptr<T>(), prods.panels[k],
                       prods.plus_input[k] ? nullptr : data<T>(prods.b[k]), prods.plus_input[k], rh_k);
            T* out_k = k < last ? operands[k + 1].data_ptr<T>() + (kt * B + r0) * prods.K(k + 1) : nullptr;
            each_row<T>(n, R, 0, [&](int64_t row, T*) {
                Fwd<T> r{xw_t + row * G, rh_k + row * R, {}, out_k ? out_k + row * prods.K(k + 1) : nullptr, {},
                         saved_t + row * Wsaved};
                for (int64_t i = 0; i < n_states; ++i) {
                    r.state[i] = prev[i] + row * S[i];
                    r.next[i] = next[i] + row * S[i];
                }
                cell.pointwise(k, r);
            });
        }
        for (int64_t i = 0; i < n_states; ++i)  // rows past the active ones keep their state
            if (r0 + n < r1) std::memcpy(next[i] + n * S[i], prev[i] + n * S[i], (r1 - r0 - n) * S[i] * sizeof(T));
        if (packed) std::memcpy(out.data_ptr<T>() + (t * B + r0) * S[0], next[0], n * S[0] * sizeof(T));
    };
    for (int64_t s0 = 0; s0 < T_; s0 += steps) {  // a block of steps [s0, s1)
        const int64_t s1 = std::min(T_, s0 + steps), t0 = reverse ? T_ - s1 : s0;  // its times [t0, t0 + s1 - s0)
        product<T>((s1 - s0) * B, G, I, x.data_ptr<T>() + t0 * B * I, w_ih.data_ptr<T>(), w_ih_t, data<T>(b_ih),
                   false, xw.data_ptr<T>());
        rows_apart(B, [&](int64_t r0, int64_t r1) {
            for (int64_t s = s0; s < s1; ++s) step(s, t0, r0, r1);
        });
    }
    if (!packed) out = reverse ? states[0].narrow(0, 0, T_) : states[0].narrow(0, 1, T_);
    std::vector<at::Tensor> result{out};
    for (int64_t i = 0; i < n_states; ++i) result.push_back(states[i][slot(i, reverse ? 0 : T_)]);
    if (keep) {
        result.insert(result.end(), states.begin(), states.end());
        result.push_back(saved);
        for (size_t k = 1; k < prods.size(); ++k) result.push_back(operands[k]);
    }
    return result;
}

// Backward: {dx (T, B, I) (empty without need_dx), dstate..., dW_ih, db_ih, then per
// product dW_k, db_k, then the cell's parameter_grads}.
template <typename T, typename Cell>
std::vector<at::Tensor> backward(const Cell& cell, const Products& prods, const at::Tensor& x, const at::Tensor& w_ih,
                                 const at::Tensor& dout, const std::vector<at::Tensor>& dfinal,
                                 const std::vector<at::Tensor>& states, const at::Tensor& saved,
                                 const std::vector<at::Tensor>& operands, const std::vector<int64_t>& sizes,
                                 bool reverse, int64_t block, bool need_dx) {
    const int64_t T_ = x.size(0), B = x.size(1), I = x.size(2), G = w_ih.size(0), n_states = states.size();
    const bool packed = !sizes.empty();
    const size_t n_prods = prods.size();
    auto opts = x.options();
    std::vector<int64_t> S(n_states);
    std::vector<at::Tensor> dstate[2];  // dL/dstate, in turn after and before a step
    for (int64_t i = 0; i < n_states; ++i) {
        S[i] = states[i].size(2);
        dstate[0].push_back(dfinal[i].clone());
        dstate[1].push_back(at::empty_like(dfinal[i]));
    }
    at::Tensor dnew0 = at::empty_like(dfinal[0]), carry = at::zeros({B, std::max<int64_t>(cell.carry, 1)}, opts);
    std::vector<at::Tensor> dop(n_prods);  // dL/d(operand k), k >= 1
    for (size_t k = 1; k < n_prods; ++k) dop[k] = at::empty({B, prods.K(k)}, opts);
    at::Tensor dx = at::empty({need_dx ? T_ : 0, B, I}, opts);
    at::Tensor dWt_ih = at::zeros({I, G}, opts), db_ih = at::zeros({G}, opts);
    const Panels w_ih_p = need_dx ? panels(w_ih) : Panels();
    std::vector<at::Tensor> dWt(n_prods), db(n_prods), cell_grads;  // dWt: each dW^T
    for (size_t k = 0; k < n_prods; ++k) {
        dWt[k] = at::zeros({prods.K(k), prods.R(k)}, opts);
        db[k] = at::zeros({prods.R(k)}, opts);
    }
    const int64_t Wsaved = cell.saved, steps = std::min(block, T_);
    auto alloc = [&](at::IntArrayRef shape) { return packed ? at::zeros(shape, opts) : at::empty(shape, opts); };
    at::Tensor dxw = alloc({steps, B, G}), extras = alloc({steps, B, std::max<int64_t>(cell.extras, 1)});
    std::vector<at::Tensor> drh(n_prods);
    for (size_t k = 0; k < n_prods; ++k)
        if (k || !prods.plus_input[0]) drh[k] = alloc({steps, B, prods.R(k)});
    // dL/dstate after step s is in dstate[(T_ - 1 - s) % 2][i]; step s on rows [r0, r1) puts
    // dL/dstate before it in the other
    auto step = [&](int64_t s, int64_t t0, int64_t r0, int64_t r1) {
        const int64_t t = reverse ? T_ - 1 - s : s, bt = t - t0, n = active(sizes, t, B, r0, r1);
        const std::vector<at::Tensor>& dafter = dstate[(T_ - 1 - s) % 2];
        const std::vector<at::Tensor>& dbefore = dstate[(T_ - s) % 2];
        const T* prev[2] = {};
        const T* next[2] = {};
        T* dnext[2] = {};
        T* dprev[2] = {};
        for (int64_t i = 0; i < n_states; ++i) {
            prev[i] = states[i].data_ptr<T>() + (before(t, reverse) * B + r0) * S[i];
            next[i] = states[i].data_ptr<T>() + (after(t, reverse) * B + r0) * S[i];
            dnext[i] = dafter[i].data_ptr<T>() + r0 * S[i];
            dprev[i] = dbefore[i].data_ptr<T>() + r0 * S[i];
        }
        // dL/dstate' = what came back from the next step, plus this step's output gradient
        T* dn0 = dnew0.data_ptr<T>() + r0 * S[0];
        const T* dy = dout.data_ptr<T>() + (t * B + r0) * S[0];
        for (int64_t j = 0; j < n * S[0]; ++j) dn0[j] = dnext[0][j] + dy[j];
        const T* saved_t = saved.data_ptr<T>() + (t * B + r0) * Wsaved;
        T* dxw_t = dxw.data_ptr<T>() + (bt * B + r0) * G;
        T* extras_t = extras.data_ptr<T>() + (bt * B + r0) * extras.size(2);
        T* carry_t = carry.data_ptr<T>() + r0 * carry.size(1);
        for (int64_t k = n_prods - 1; k >= 0; --k) {
            const int64_t R = prods.R(k);
            T* drh_k = drh[k].defined() ? drh[k].data_ptr<T>() + (bt * B + r0) * R : dxw_t;
            T* dop_k1 = k + 1 < (int64_t)n_prods ? dop[k + 1].data_ptr<T>() + r0 * prods.K(k + 1) : nullptr;
            each_row<T>(n, R, cell.scratch, [&](int64_t row, T* work) {
                Bwd<T> r{{}, carry_t + row * carry.size(1), {}, {}, saved_t + row * Wsaved, drh_k + row * R,
                         dxw_t + row * G, {}, extras_t + row * extras.size(2), work};
                for (int64_t i = 0; i < n_states; ++i) {
                    r.state[i] = prev[i] + row * S[i];
                    r.next[i] = next[i] + row * S[i];
                    r.dstate[i] = dprev[i] + row * S[i];
                }
                if (k == (int64_t)n_prods - 1) {
                    r.dout[0] = dn0 + row * S[0];
                    for (int64_t i = 1; i < n_states; ++i) r.dout[i] = dnext[i] + row * S[i];
                } else {
                    r.dout[0] = dop_k1 + row * prods.K(k + 1);
                }
                cell.pointwise_backward(k, r);
            });
            const T* W = prods.W[k].data_ptr<T>();
            if (k)  // d(operand k) = drh_k W_k, the dout of stage k - 1
                product_back<T>(n, R, prods.K(k), drh_k, W, prods.panels[k], T(0),
                                dop[k].data_ptr<T>() + r0 * prods.K(k));
            else  // dL/dstate[0] += drh_0 W_0
                product_back<T>(n, R, prods.K(0), drh_k, W, prods.panels[k], Cell::state0_direct ? T(1) : T(0),
                                dprev[0]);
        }
        const int64_t rest = r1 - r0 - n;
        if (rest) {  // rows past the active ones took no part: their gradient passes this step untouched, the rest is 0
            for (int64_t i = 0; i < n_states; ++i)
                std::memcpy(dprev[i] + n * S[i], dnext[i] + n * S[i], rest * S[i] * sizeof(T));
            std::fill(dxw_t + n * G, dxw_t + (n + rest) * G, T(0));
            std::fill(extras_t + n * extras.size(2), extras_t + (n + rest) * extras.size(2), T(0));
            for (size_t k = 0; k < n_prods; ++k)
                if (drh[k].defined()) {
                    T* d = drh[k].data_ptr<T>() + (bt * B + r0) * prods.R(k);
                    std::fill(d + n * prods.R(k), d + (n + rest) * prods.R(k), T(0));
                }
        }
    };
    for (int64_t s1 = T_; s1 > 0; s1 -= steps) {  // blocks of steps [s0, s1) in the order they ran, the last first
        const int64_t s0 = std::max<int64_t>(0, s1 - steps), nb = s1 - s0;
        const int64_t t0 = reverse ? T_ - s1 : s0;  // the block's times [t0, t0 + nb)
        rows_apart(B, [&](int64_t r0, int64_t r1) {
            for (int64_t s = s1 - 1; s >= s0; --s) step(s, t0, r0, r1);
        });
        // the weight gradients of the block: one GEMM each, dW = sum_t drh_t^T a_t
        auto flat = [&](const at::Tensor& t) { return t.narrow(0, 0, nb).reshape({nb * B, t.size(2)}); };
        auto times = [&](const at::Tensor& t, int64_t from) { return t.narrow(0, from, nb); };
        at::Tensor dxw_b = flat(dxw);
        weight_grad<T>(dxw_b, times(x, t0).reshape({nb * B, I}), dWt_ih);
        const at::Tensor dxw_sum = dxw_b.sum(0);
        db_ih.add_(dxw_sum);
        for (size_t k = 0; k < n_prods; ++k) {
            at::Tensor drh_b = drh[k].defined() ? flat(drh[k]) : dxw_b;
            at::Tensor a = k ? times(operands[k], t0) : times(states[0], before(t0, reverse));
            weight_grad<T>(drh_b, a.reshape({nb * B, prods.K(k)}), dWt[k]);
            db[k].add_(drh[k].defined() ? drh_b.sum(0) : dxw_sum);
        }
        std::vector<at::Tensor> prev_b(n_states), next_b(n_states);
        for (int64_t i = 0; i < n_states; ++i) {
            prev_b[i] = times(states[i], before(t0, reverse));
            next_b[i] = times(states[i], after(t0, reverse));
        }
        auto g = cell.parameter_grads(prev_b, next_b, times(saved, t0), dxw.narrow(0, 0, nb), extras.narrow(0, 0, nb));
        if (cell_grads.empty()) cell_grads = g;
        else for (size_t j = 0; j < g.size(); ++j) cell_grads[j].add_(g[j]);
        if (need_dx)  // the input gradient of the block, one GEMM
            product_back<T>(nb * B, G, I, dxw_b.data_ptr<T>(), w_ih.data_ptr<T>(), w_ih_p, T(0),
                            dx.data_ptr<T>() + t0 * B * I);
    }
    std::vector<at::Tensor> result{dx};
    result.insert(result.end(), dstate[T_ % 2].begin(), dstate[T_ % 2].end());
    result.push_back(dWt_ih.t().contiguous());
    result.push_back(db_ih);
    for (size_t k = 0; k < n_prods; ++k) {
        result.push_back(dWt[k].t().contiguous());
        result.push_back(db[k]);
    }
    result.insert(result.end(), cell_grads.begin(), cell_grads.end());
    return result;
}

}  // namespace rnnkit
