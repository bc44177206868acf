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

/// GEMMs with m n k from this split their rows (or, when n > m, their columns) between
/// ag::get_num_threads() threads of the library's pool. OpenBLAS itself is kept at one thread: its idle
/// workers busy-wait for 2^28 cycles after each call, on the cores the pool needs for the work in
/// between (with them, the MLP 1024-1024-1024-10 step ran 1.09-1.34x faster on 2 threads than on 1).
inline constexpr std::int64_t kParallelGemmWork = std::int64_t{1} << 22;

}  // namespace ag::kernels
