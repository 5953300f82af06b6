// The activations of cells/activations.py, in the order of its ACTIVATIONS, each with its
// backward written in terms of the output y = act(x), as there:
//
//     tanh         y = tanh(x)              dy/dx = 1 - y^2
//     sigmoid      y = 1 / (1 + e^-x)       dy/dx = y (1 - y)
//     relu         y = max(x, 0)            dy/dx = [y > 0]
//     identity     y = x                    dy/dx = 1
//     hardsigmoid  y = clamp(x/6 + 1/2)     dy/dx = [0 < y < 1] / 6
//
// Each runs over a row of n values, the switch outside the loop so that the loop vectorises
// (kernels/__init__.py's flags: -fno-trapping-math lets the comparisons vectorise).
// In float, e^x is a Cody-Waite reduction and a polynomial (a few ulp, branch-free, so it
// vectorises where glibc's expf does not); in double it is libm's, exact as the reference's.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace rnnkit {

enum class Act : int64_t { tanh, sigmoid, relu, identity, hardsigmoid };

// e^x = 2^k e^r, k = round(x / ln 2), r = x - k ln 2 in two parts (Cody-Waite), e^r by its
// Taylor polynomial to r^6 (|r| <= ln2 / 2: relative error below 2e-7), 2^k in the exponent bits.
inline float exp_(float x) {
    x = std::min(std::max(x, -87.0f), 88.0f);
    const float k = std::floor(x * 1.44269504f + 0.5f);
    const float r = x - k * 0.693145751953125f - k * 1.428606765330187e-6f;
    const float p =
        1.0f + r * (1.0f + r * (0.5f + r * (1.6666667e-1f + r * (4.1666668e-2f + r * (8.3333338e-3f + r * 1.3888889e-3f)))));
    const int32_t bits = (static_cast<int32_t>(k) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}
inline double exp_(double x) { return std::exp(x); }

inline float tanh_(float x) { return 1.0f - 2.0f / (exp_(2.0f * x) + 1.0f); }  // tanh x = 1 - 2 / (e^2x + 1)
inline double tanh_(double x) { return std::tanh(x); }

template <typename T>
void activate(Act act, const T* x, T* y, int64_t n) {
    switch (act) {
        case Act::tanh:
            for (int64_t j = 0; j < n; ++j) y[j] = tanh_(x[j]);
            break;
        case Act::sigmoid:
            for (int64_t j = 0; j < n; ++j) y[j] = T(1) / (T(1) + exp_(-x[j]));
            break;
        case Act::relu:
            for (int64_t j = 0; j < n; ++j) y[j] = x[j] > T(0) ? x[j] : T(0);
            break;
        case Act::identity:
            if (y != x) std::memcpy(y, x, n * sizeof(T));
            break;
        case Act::hardsigmoid:
            for (int64_t j = 0; j < n; ++j) y[j] = std::min(std::max(x[j] / T(6) + T(0.5), T(0)), T(1));
            break;
    }
}

// dx = dL/dx from y = act(x) and dy = dL/dy; dx may be dy.
template <typename T>
void activate_backward(Act act, const T* y, const T* dy, T* dx, int64_t n) {
    switch (act) {
        case Act::tanh:
            for (int64_t j = 0; j < n; ++j) dx[j] = dy[j] * (T(1) - y[j] * y[j]);
            break;
        case Act::sigmoid:
            for (int64_t j = 0; j < n; ++j) dx[j] = dy[j] * (T(1) - y[j]) * y[j];
            break;
        case Act::relu:
            for (int64_t j = 0; j < n; ++j) dx[j] = y[j] > T(0) ? dy[j] : T(0);
            break;
        case Act::identity:
            if (dx != dy) std::memcpy(dx, dy, n * sizeof(T));
            break;
        case Act::hardsigmoid:
            for (int64_t j = 0; j < n; ++j) dx[j] = ((y[j] > T(0)) & (y[j] < T(1))) ? dy[j] / T(6) : T(0);
            break;
    }
}

}  // namespace rnnkit
