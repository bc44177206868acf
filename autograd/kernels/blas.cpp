#include "autograd/kernels/blas.h"

#include <cblas.h>

#include <algorithm>
#include <mutex>

#include "autograd/kernels/small_gemm.h"
#include "autograd/parallel.h"

namespace ag::kernels {

namespace {
/// OpenBLAS keeps one thread: its idle workers busy-wait on the cores the pool needs next.
void init_blas_threads() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

template <class T, class F>
void gemm_impl(F f, bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const T* a, const T* b, T* c,
               T beta) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (beta == T(0)) std::fill(c, c + m * n, T(0));
    else if (beta != T(1)) std::for_each(c, c + m * n, [beta](T& v) { v *= beta; });
    return;
  }
  if (small_gemm(ta, tb, m, n, k, a, b, c, beta)) return;
  init_blas_threads();
  const auto lda = static_cast<blasint>(ta ? m : k);
  const auto ldb = static_cast<blasint>(tb ? k : n);
  // rows [i0, i1) and columns [j0, j1) of C
  auto block = [&](std::int64_t i0, std::int64_t i1, std::int64_t j0, std::int64_t j1) {
    f(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<blasint>(i1 - i0),
      static_cast<blasint>(j1 - j0), static_cast<blasint>(k), T(1), ta ? a + i0 : a + i0 * k, lda,
      tb ? b + j0 * k : b + j0, ldb, beta, c + i0 * n + j0, static_cast<blasint>(n));
  };
  const int threads = get_num_threads();
  if (threads == 1 || m * n * k < kParallelGemmWork || in_parallel_region()) return block(0, m, 0, n);
  if (m >= n)
    parallel_for(0, m, (m + threads - 1) / threads, [&](std::int64_t i0, std::int64_t i1) { block(i0, i1, 0, n); });
  else parallel_for(0, n, (n + threads - 1) / threads, [&](std::int64_t j0, std::int64_t j1) { block(0, m, j0, j1); });
}
}  // namespace

void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c,
          float beta) {
  gemm_impl<float>(cblas_sgemm, ta, tb, m, n, k, a, b, c, beta);
}

void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const double* a, const double* b, double* c,
          double beta) {
  gemm_impl<double>(cblas_dgemm, ta, tb, m, n, k, a, b, c, beta);
}

}  // namespace ag::kernels
