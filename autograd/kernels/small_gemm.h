#pragma once
/// @file kernels/small_gemm.h
/// Small row-major GEMMs through libxsmm's JIT kernels (Debian's libxsmm-dev), which beat OpenBLAS
/// 1.7-6x on the shapes of small MLPs and RNN cells (README, "Dependencies"). kernels::gemm tries
/// this first and falls back to CBLAS when it declines.

#include <cstdint>

namespace ag::kernels {

/// GEMMs with m n k up to this run through libxsmm.
inline constexpr std::int64_t kSmallGemmMaxWork = std::int64_t{1} << 24;
/// Larger ones too when B (not transposed) holds at most this many bytes, half this machine's L2:
/// libxsmm's kernels do not block K, and streaming a larger B made 256x1024 by 1024x1024 0.65x as
/// fast as OpenBLAS, while 1024x256 by 256x1024 ran 1.44-1.48x faster. From m n k = kParallelGemmWork
/// (kernels/blas.h) products split their rows between ag::get_num_threads() threads (A^T B^T excepted).
inline constexpr std::int64_t kSmallGemmPanelBytes = std::int64_t{1} << 20;

/// Whether the library was built with libxsmm (CMake option AG_WITH_LIBXSMM).
bool small_gemm_available();

/// Turns the libxsmm path on or off for the whole process (on by default when available); for
/// benchmarks that compare both paths. Returns the previous setting.
bool set_small_gemm_enabled(bool on);

/// C = op(A) op(B) + beta C as in kernels::gemm, with a JIT kernel. Returns false, leaving C untouched,
/// when it declines: libxsmm absent or disabled, m n k above kSmallGemmMaxWork (unless B fits
/// kSmallGemmPanelBytes and is not transposed), beta not 0 or 1,
/// or no kernel for the shape (for a product split between threads, a block of rows without a kernel
/// throws std::logic_error; no such shape was met). libxsmm's JIT kernels take no transposed first
/// operand, so the
/// row-major A B^T is computed as (B A^T)^T or as A (B^T), whichever copies fewer elements.
bool small_gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b,
                float* c, float beta);
bool small_gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const double* a, const double* b,
                double* c, double beta);

/// GEMMs this thread has run through small_gemm since it started (tests check the routing).
std::uint64_t small_gemm_calls();

/// dst[c, r] = src[r, c] for a row-major src of `rows` x `cols`, in cache-sized tiles.
void transpose(const float* src, float* dst, std::int64_t rows, std::int64_t cols);
void transpose(const double* src, double* dst, std::int64_t rows, std::int64_t cols);

}  // namespace ag::kernels
