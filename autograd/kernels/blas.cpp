#include "autograd/kernels/blas.h"

#include <cblas.h>

#include <algorithm>

namespace ag::kernels {

namespace {
template <class T, class F>
void gemm_impl(F f, bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const T* a, const T* b, T* c) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    std::fill(c, c + m * n, T(0));
    return;
  }
  const auto lda = static_cast<blasint>(ta ? m : k);
  const auto ldb = static_cast<blasint>(tb ? k : n);
  f(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
    static_cast<blasint>(n), static_cast<blasint>(k), T(1), a, lda, b, ldb, T(0), c, static_cast<blasint>(n));
}
}  // namespace

void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c) {
  gemm_impl<float>(cblas_sgemm, ta, tb, m, n, k, a, b, c);
}

void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const double* a, const double* b, double* c) {
  gemm_impl<double>(cblas_dgemm, ta, tb, m, n, k, a, b, c);
}

}  // namespace ag::kernels
