#include "autograd/kernels/blas.h"

#include "autograd/kernels/small_gemm.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <mutex>

namespace ag::kernels {

namespace {
std::mutex g_blas_mutex;
std::atomic<int> g_blas_threads{0};  // 0: not read from OpenBLAS yet

int blas_threads() {
  int n = g_blas_threads.load(std::memory_order_relaxed);
  if (n == 0) {
    std::lock_guard<std::mutex> lock(g_blas_mutex);
    n = openblas_get_num_threads();
    g_blas_threads.store(n, std::memory_order_relaxed);
  }
  return n;
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
  const auto lda = static_cast<blasint>(ta ? m : k);
  const auto ldb = static_cast<blasint>(tb ? k : n);
  auto call = [&] {
    f(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
      static_cast<blasint>(n), static_cast<blasint>(k), T(1), a, lda, b, ldb, beta, c, static_cast<blasint>(n));
  };
  const int threads = blas_threads();
  if (threads == 1) return call();
  std::lock_guard<std::mutex> lock(g_blas_mutex);
  if (m * n * k >= kSerialGemmWork) return call();
  openblas_set_num_threads(1);
  call();
  openblas_set_num_threads(threads);
}
}  // namespace

void set_blas_num_threads(int n) {
  std::lock_guard<std::mutex> lock(g_blas_mutex);
  openblas_set_num_threads(n);
  g_blas_threads.store(n, std::memory_order_relaxed);
}

void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c,
          float beta) {
  gemm_impl<float>(cblas_sgemm, ta, tb, m, n, k, a, b, c, beta);
}

void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const double* a, const double* b, double* c,
          double beta) {
  gemm_impl<double>(cblas_dgemm, ta, tb, m, n, k, a, b, c, beta);
}

}  // namespace ag::kernels
