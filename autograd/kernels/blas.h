#pragma once
/// @file kernels/blas.h
/// Row-major GEMM: C[M,N] = op(A) op(B), op = transpose when flagged, through the fastest of three
/// libraries for the shape class, as measured on this machine (docs/benchmarks/2026-12-06-gemm.md):
/// libxsmm's JIT kernels (kernels/small_gemm.h) for small products, oneDNN's dnnl_sgemm
/// (kernels/dnnl_gemm.h) for large float32 ones and the shapes listed at gemm_route, OpenBLAS (CBLAS)
/// for large float64 ones and whatever the others decline.

#include <cstdint>

namespace ag::kernels {

/// C = op(A) @ op(B) + beta C with A stored [M,K] (or [K,M] when ta), B stored [K,N] (or [N,K] when tb);
/// beta = 1 accumulates onto C (e.g. onto a broadcast bias), beta = 0 ignores C's contents.
void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c,
          float beta = 0.0f);
void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const double* a, const double* b, double* c,
          double beta = 0.0);

/// The libraries kernels::gemm can run a product through.
enum class GemmBackend { automatic, openblas, libxsmm, dnnl };

/// The backend kernels::gemm picks (with the automatic setting) for a product of this form:
///  - float32, with oneDNN: dnnl when beta is not 0 or 1, when m n k > kSmallGemmMaxWork, and for
///    A B^T with m >= 64, k >= 128 and (n >= 64 or m >= 128), or m = 1 and n k >= 4096 (libxsmm
///    transposes an operand for A B^T: 0.7-0.85x dnnl there); libxsmm otherwise, and for A^T B with
///    m >= 4096 whose B (k x n) fits kSmallGemmPanelBytes (a language model head's weight gradient),
///    but dnnl for A B and A B^T with m >= 16 and n k >= 2^18 (B of 1 MiB or more); OpenBLAS for A B^T
///    and A^T B above kSmallGemmMaxWork with m or n >= 4096 when it runs AVX-512 kernels
///    (openblas_avx512_kernels);
///  - float64, or without oneDNN: libxsmm when small_gemm takes the product, OpenBLAS otherwise.
/// A product libxsmm declines (a shape it has no kernel for) falls to dnnl (float32) or OpenBLAS.
GemmBackend gemm_route(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, bool f64, double beta);

/// Whether OpenBLAS selected AVX-512 kernels (SkylakeX, Cooperlake, SapphireRapids); OpenBLAS 0.3.21
/// does not recognise every AVX-512 CPU, and OPENBLAS_CORETYPE then names the kernels before start.
bool openblas_avx512_kernels();

/// Forces every product through one backend (benchmarks and tests compare them); automatic restores
/// the routing. A forced backend that cannot take a product (absent from the build, dnnl for
/// float64, libxsmm declining) leaves it to OpenBLAS. Process-wide; returns the previous setting.
GemmBackend set_gemm_backend(GemmBackend b);

/// Whether this build has the backend (OpenBLAS and automatic always).
bool gemm_backend_available(GemmBackend b);

/// GEMMs with m n k from this split their rows (or, when n > m, their columns) between
/// ag::get_num_threads() threads of the library's pool. OpenBLAS itself is kept at one thread: its idle
/// workers busy-wait for 2^28 cycles after each call, on the cores the pool needs for the work in
/// between (with them, the MLP 1024-1024-1024-10 step ran 1.09-1.34x faster on 2 threads than on 1).
inline constexpr std::int64_t kParallelGemmWork = std::int64_t{1} << 22;

}  // namespace ag::kernels
