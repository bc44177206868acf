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

// The softmax's loops, on one thread (callers split rows between threads), with exp as above:
/// sum of exp(x[i] - shift), accumulated in 16 lanes in a fixed order (the same bits on every CPU)
float sum_exp(const float* x, float shift, std::int64_t n);
double sum_exp(const double* x, double shift, std::int64_t n);
/// y[i] = exp((x[i] - a) - b) c
void exp_affine(const float* x, float a, float b, float c, float* y, std::int64_t n);
void exp_affine(const double* x, double a, double b, double c, double* y, std::int64_t n);

}  // namespace ag::kernels
