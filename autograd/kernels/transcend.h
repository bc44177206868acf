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
/// sum of exp(x[i] - shift), accumulated in 16 lanes in a fixed order (the same bits on every CPU).
/// With `next` (or null), the n values from there are prefetched into the cache meanwhile: a row-wise
/// caller passes the next row, whose max it reads next, so that its load overlaps these exps.
float sum_exp(const float* x, float shift, std::int64_t n, const float* next = nullptr);
double sum_exp(const double* x, double shift, std::int64_t n, const double* next = nullptr);
/// max(x[0..n)), -inf for n = 0, in 16 lanes (vectorised: v > m ? v : m is maxps). A NaN is skipped
/// here; it still reaches the softmax's results through exp(NaN - m) in the sum.
float row_max(const float* x, std::int64_t n);
double row_max(const double* x, std::int64_t n);
/// y[i] = exp((x[i] - a) - b) c
void exp_affine(const float* x, float a, float b, float c, float* y, std::int64_t n);
void exp_affine(const double* x, double a, double b, double c, double* y, std::int64_t n);

}  // namespace ag::kernels
