#pragma once
/// @file kernels/transcend.h
/// Vectorizable exp, tanh and sigmoid over contiguous buffers, split between threads for large n.
/// float32 tanh and sigmoid are computed in double and rounded once, float32 exp in float (all within
/// 1 ulp of the exact result, so within 2 ulp of std::exp / std::tanh); float64 is within a few ulp. Branch-free: ±0,
/// ±inf, NaN and subnormals follow std::. Each element's result does not depend on n or on the thread count.

#include <cstdint>

namespace ag::kernels {

/// y[i] = exp(x[i])
void exp(const float* x, float* y, std::int64_t n);
void exp(const double* x, double* y, std::int64_t n);
/// y[i] = tanh(x[i])
void tanh(const float* x, float* y, std::int64_t n);
void tanh(const double* x, double* y, std::int64_t n);
/// y[i] = 1 / (1 + exp(-x[i])), computed as e / (1 + e) with e = exp(x) for x < 0 (no overflow).
void sigmoid(const float* x, float* y, std::int64_t n);
void sigmoid(const double* x, double* y, std::int64_t n);

}  // namespace ag::kernels
