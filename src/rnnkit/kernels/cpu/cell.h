// What a cell's pointwise stages see of one row of the batch at one step: the C++ side of
// cells/base.py. A cell is a struct with
//
//     pointwise(k, Fwd&)            stage k, as CellMath.pointwise
//     pointwise_backward(k, Bwd&)   its backward, as CellMath.pointwise_backward
//     parameter_grads(...)          as CellMath.pointwise_parameter_grads, on whole blocks
//     record(saved, next)           what CellMath.record shows, in the order of `recorded`
//     saved, carry, extras, scratch the widths of its per-row buffers
//     state0_direct                 whether stage 0's backward has a direct path into dstate[0]
//
// and no loop over time, rows or products: loop.h runs every cell.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "activations.h"

namespace rnnkit {

// The cell's options (CellSpec.options, in order: integers and activations in ints, floats in
// floats) and the tensors its stages read (its pointwise parameters, then what its
// prepare_pointwise adds), from compiled_cpu.py.
struct Options {
    int64_t hidden_size;
    std::vector<int64_t> ints;
    std::vector<double> floats;
    std::vector<at::Tensor> tensors;
};

template <typename T>
const T* data(const at::Tensor& t) {
    return t.defined() ? t.data_ptr<T>() : nullptr;
}

// Stage k of one step, one row: rh is product k's result (for a plus_input product, xw + a W^T).
template <typename T>
struct Fwd {
    const T* xw;        // (G)  W_ih x + b_ih, with the biases of plus_input products folded in
    const T* rh;        // (R_k)
    const T* state[2];  // the state before the step
    T* out;             // (K_k+1) the operand of product k + 1 (every stage but the last)
    T* next[2];         // the state after the step (the last stage)
    T* saved;           // (saved) what the backward keeps, shared by the stages of a step
};

// Stage k's backward, one row.
template <typename T>
struct Bwd {
    const T* dout[2];   // the last stage: dL/dstate', one per state; the others: dL/d(their output)
    T* carry;           // (carry) from stage k + 1's backward to stage k's
    const T* state[2];
    const T* next[2];
    const T* saved;
    T* drh;             // (R_k) dL/d(rh_k)
    T* dxw;             // (G) dL/dxw: stage 0; may be drh itself (plus_input)
    T* dstate[2];       // dL/dstate by the direct paths: stage 0
    T* extras;          // (extras) per-step values for parameter_grads: stage 0
    T* scratch;         // (scratch) working memory
};

// y = x, unless they are the same row.
template <typename T>
void copy(const T* x, T* y, int64_t n) {
    if (y != x) std::memcpy(y, x, n * sizeof(T));
}

}  // namespace rnnkit
