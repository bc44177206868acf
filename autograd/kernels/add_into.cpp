#include "autograd/kernels/add_into.h"

#include "autograd/kernels/target_clones.h"

// Compiled for AVX2 and the x86-64 baseline (AG_CLONES_AVX2): one addition per element, every clone
// gives the same bits. Out of line because the headers' loops are compiled for the baseline (SSE2):
// the head bias gradient of the language model (a [700, 10000] column sum) ran 1.5x slower there.

namespace ag::kernels {

namespace {
template <class T>
inline void add_into_impl(T* __restrict y, const T* __restrict x, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] += x[i];
}
AG_CLONES_AVX2 void add_into_f(float* __restrict y, const float* __restrict x, std::int64_t n) {
  add_into_impl(y, x, n);
}
AG_CLONES_AVX2 void add_into_d(double* __restrict y, const double* __restrict x, std::int64_t n) {
  add_into_impl(y, x, n);
}
}  // namespace

void add_into(float* y, const float* x, std::int64_t n) { add_into_f(y, x, n); }
void add_into(double* y, const double* x, std::int64_t n) { add_into_d(y, x, n); }

}  // namespace ag::kernels
