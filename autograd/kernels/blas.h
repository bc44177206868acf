#pragma once
/// @file kernels/blas.h
/// Row-major GEMM through CBLAS (OpenBLAS): C[M,N] = op(A) op(B), op = transpose when flagged.

#include <cstdint>

namespace ag::kernels {

/// C = op(A) @ op(B) with A stored [M,K] (or [K,M] when ta), B stored [K,N] (or [N,K] when tb).
void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c);
void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const double* a, const double* b, double* c);

}  // namespace ag::kernels
