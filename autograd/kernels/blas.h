#pragma once
/// @file kernels/blas.h
/// Row-major GEMM: C[M,N] = op(A) op(B), op = transpose when flagged; small products through
/// libxsmm's JIT kernels (kernels/small_gemm.h), the rest through CBLAS (OpenBLAS).

#include <cstdint>

namespace ag::kernels {

/// C = op(A) @ op(B) + beta C with A stored [M,K] (or [K,M] when ta), B stored [K,N] (or [N,K] when tb);
/// beta = 1 accumulates onto C (e.g. onto a broadcast bias), beta = 0 ignores C's contents.
void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c,
          float beta = 0.0f);
void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const double* a, const double* b, double* c,
          double beta = 0.0);

/// GEMMs with m n k below this run on one OpenBLAS thread whatever the thread count: OpenBLAS 0.3.21
/// goes multi-threaded from m n k = 262,144, where two threads made the MLP 64-128-128-10 step
/// 0.78x and the RNN 32-128 step 0.86x as fast as one (bench/compare.cpp).
inline constexpr std::int64_t kSerialGemmWork = std::int64_t{1} << 20;

/// Sets OpenBLAS's thread count (ag::set_num_threads calls it). While it is above 1, GEMM calls are
/// serialised so that the small ones can drop to one thread for their duration.
void set_blas_num_threads(int n);

}  // namespace ag::kernels
