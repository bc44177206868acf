#include "autograd/kernels/blas.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <string>

#include "autograd/kernels/dnnl_gemm.h"
#include "autograd/kernels/small_gemm.h"
#include "autograd/parallel.h"

namespace ag::kernels {

namespace {
std::atomic<GemmBackend> g_forced{GemmBackend::automatic};

/// OpenBLAS keeps one thread: its idle workers busy-wait on the cores the pool needs next.
void init_blas_threads() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

void cblas(bool ta, bool tb, blasint m, blasint n, blasint k, const float* a, blasint lda, const float* b, blasint ldb,
           float beta, float* c, blasint ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a, lda, b,
              ldb, beta, c, ldc);
}
void cblas(bool ta, bool tb, blasint m, blasint n, blasint k, const double* a, blasint lda, const double* b,
           blasint ldb, double beta, double* c, blasint ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0, a, lda, b,
              ldb, beta, c, ldc);
}

/// The product through dnnl (float32, when built with it) or OpenBLAS, split between the pool's
/// threads from kParallelGemmWork; each block is a product on one thread.
template <class T>
void large_gemm(bool use_dnnl, bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const T* a, const T* b,
                T* c, T beta) {
  if (!use_dnnl) init_blas_threads();
  const std::int64_t lda = ta ? m : k, ldb = tb ? k : n;
  // rows [i0, i1) and columns [j0, j1) of C
  auto block = [&](std::int64_t i0, std::int64_t i1, std::int64_t j0, std::int64_t j1) {
    const T* ab = ta ? a + i0 : a + i0 * k;
    const T* bb = tb ? b + j0 * k : b + j0;
    if constexpr (sizeof(T) == 4)
      if (use_dnnl && dnnl_gemm(ta, tb, i1 - i0, j1 - j0, k, ab, lda, bb, ldb, c + i0 * n + j0, n, beta)) return;
    cblas(ta, tb, static_cast<blasint>(i1 - i0), static_cast<blasint>(j1 - j0), static_cast<blasint>(k), ab,
          static_cast<blasint>(lda), bb, static_cast<blasint>(ldb), beta, c + i0 * n + j0, static_cast<blasint>(n));
  };
  const int threads = get_num_threads();
  if (threads == 1 || m * n * k < kParallelGemmWork || in_parallel_region()) return block(0, m, 0, n);
  if (m >= n)
    parallel_for(0, m, (m + threads - 1) / threads, [&](std::int64_t i0, std::int64_t i1) { block(i0, i1, 0, n); });
  else parallel_for(0, n, (n + threads - 1) / threads, [&](std::int64_t j0, std::int64_t j1) { block(0, m, j0, j1); });
}

template <class T>
void gemm_impl(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const T* a, const T* b, T* c, T beta) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (beta == T(0)) std::fill(c, c + m * n, T(0));
    else if (beta != T(1)) std::for_each(c, c + m * n, [beta](T& v) { v *= beta; });
    return;
  }
  GemmBackend route = g_forced.load(std::memory_order_relaxed);
  if (route == GemmBackend::automatic) route = gemm_route(ta, tb, m, n, k, sizeof(T) == 8, double(beta));
  if (route == GemmBackend::libxsmm && small_gemm(ta, tb, m, n, k, a, b, c, beta)) return;
  // declined by libxsmm: dnnl when routing automatically (or forced), OpenBLAS when forced to libxsmm
  const bool use_dnnl =
      sizeof(T) == 4 && dnnl_gemm_available() &&
      (route == GemmBackend::dnnl ||
       (route == GemmBackend::libxsmm && g_forced.load(std::memory_order_relaxed) == GemmBackend::automatic));
  large_gemm(use_dnnl, ta, tb, m, n, k, a, b, c, beta);
}
}  // namespace

bool openblas_avx512_kernels() {
  static const bool avx512 = [] {
    std::string core = openblas_get_corename();
    std::transform(core.begin(), core.end(), core.begin(), [](unsigned char ch) { return std::tolower(ch); });
    return core == "skylakex" || core == "cooperlake" || core == "sapphirerapids";
  }();
  return avx512;
}

GemmBackend gemm_route(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, bool f64, double beta) {
  if (f64 || !dnnl_gemm_available()) {
    const bool small = m <= kSmallGemmMaxWork && n <= kSmallGemmMaxWork && m * n <= kSmallGemmMaxWork &&
                       m * n * k <= kSmallGemmMaxWork;
    const bool panel = !tb && k * n * (f64 ? 8 : 4) <= kSmallGemmPanelBytes;
    const bool xsmm = small_gemm_available() && (beta == 0 || beta == 1) && (small || panel);
    return xsmm ? GemmBackend::libxsmm : GemmBackend::openblas;
  }
  // OpenBLAS with its AVX-512 kernels beats dnnl on the large A B^T and A^T B products with a dimension
  // of 4096 or more (a 10000-word head: 209.8 and 208.4 against dnnl's 147.7 and libxsmm's 167.5 GFLOP/s)
  if (ta != tb && std::max(m, n) >= 4096 && m * n * k > kSmallGemmMaxWork && openblas_avx512_kernels())
    return GemmBackend::openblas;
  if ((beta != 0 && beta != 1) || !small_gemm_available()) return GemmBackend::dnnl;
  // (a 10000-word head's weight gradient, 10000x256 from 700 rows, A^T B: dnnl 197 GFLOP/s against
  // libxsmm's 167 on a quiet machine, docs/benchmarks/2026-12-07-lm-2.md; libxsmm had measured faster
  // under load)
  if (m * n * k > kSmallGemmMaxWork) return GemmBackend::dnnl;
  // A B or A B^T of 16 rows or more by a B of 1 MiB or more (an LSTM 128-256 step with batch 20:
  // 20x1024x256 A B^T onto the gates 68.5 vs 84.9 us, 20x256x1024 A B 50.0 vs 56.8 us,
  // docs/benchmarks/2026-12-07-lm.md)
  if (!ta && m >= 16 && n * k >= (std::int64_t{1} << 18)) return GemmBackend::dnnl;
  if (tb && !ta && ((m >= 64 && k >= 128 && (n >= 64 || m >= 128)) || (m == 1 && n * k >= 4096)))
    return GemmBackend::dnnl;
  return GemmBackend::libxsmm;
}

GemmBackend set_gemm_backend(GemmBackend b) { return g_forced.exchange(b); }

bool gemm_backend_available(GemmBackend b) {
  switch (b) {
    case GemmBackend::libxsmm:
      return small_gemm_available();
    case GemmBackend::dnnl:
      return dnnl_gemm_available();
    default:
      return true;
  }
}

void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c,
          float beta) {
  gemm_impl<float>(ta, tb, m, n, k, a, b, c, beta);
}

void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const double* a, const double* b, double* c,
          double beta) {
  gemm_impl<double>(ta, tb, m, n, k, a, b, c, beta);
}

}  // namespace ag::kernels
