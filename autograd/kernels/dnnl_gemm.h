#pragma once
/// @file kernels/dnnl_gemm.h
/// Single-precision GEMMs through oneDNN's dnnl_sgemm (Debian's libdnnl-dev): JIT kernels for the
/// CPU at hand (AVX-512 where present) whatever OPENBLAS_CORETYPE says; on this machine 1.7-1.9x
/// OpenBLAS-Haswell on 1024-size products (docs/benchmarks/2026-12-06-gemm.md). kernels::gemm routes
/// the shape classes where it measured fastest here. oneDNN has no dgemm.

#include <cstdint>

namespace ag::kernels {

/// Whether the library was built with oneDNN (CMake option AG_WITH_DNNL).
bool dnnl_gemm_available();

/// Row-major C = op(A) op(B) + beta C with leading dimensions lda, ldb, ldc, on the calling thread
/// only: oneDNN's OpenMP runtime is held at one thread for the call (the calling thread's
/// OpenMP thread count is restored after), so that no OpenMP team is started or left spinning on
/// the cores the library's pool uses. dnnl_sgemm allocates its packing buffer (one posix_memalign
/// per call, freed before it returns). Returns false (C untouched) when built without oneDNN.
bool dnnl_gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
               const float* b, std::int64_t ldb, float* c, std::int64_t ldc, float beta);

/// GEMMs (or blocks of a GEMM split between threads) this thread has run through dnnl_gemm.
std::uint64_t dnnl_gemm_calls();

}  // namespace ag::kernels
