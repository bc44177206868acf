// No FMA contraction: the AVX2 clone must give the baseline's bits.
#pragma GCC optimize("fp-contract=off")

#include <cstdint>

#include "autograd/kernels/fused.h"
#include "autograd/kernels/target_clones.h"

// The recurrent cells' elementwise backward, compiled for AVX2 and the x86-64 baseline
// (AG_CLONES_AVX2; no FMA contraction under -std=c++20, so every clone gives the same bits): from
// the header it ran as baseline SSE2 code, 0.8% of the language model's step.

namespace ag::kernels {

namespace {
template <class T>
inline void lstm_backward_impl(const T* act, const T* c, const T* tc, const T* dh2, const T* dc2, T* dgates, T* dc,
                               std::int64_t batch, std::int64_t hidden) {
  for (std::int64_t r = 0; r < batch; ++r) {
    const T* ar = act + r * 4 * hidden;
    T* dr = dgates + r * 4 * hidden;
    for (std::int64_t j = 0; j < hidden; ++j) {
      const std::int64_t k = r * hidden + j;
      const T i = ar[j], f = ar[hidden + j], g = ar[2 * hidden + j], o = ar[3 * hidden + j];
      const T t = tc[k];
      const T dct = dc2[k] + dh2[k] * o * (T(1) - t * t);
      dr[j] = dct * g * i * (T(1) - i);
      dr[hidden + j] = dct * c[k] * f * (T(1) - f);
      dr[2 * hidden + j] = dct * i * (T(1) - g * g);
      dr[3 * hidden + j] = dh2[k] * t * o * (T(1) - o);
      dc[k] = dct * f;
    }
  }
}

AG_CLONES_AVX2 void lstm_backward_f(const float* act, const float* c, const float* tc, const float* dh2,
                                    const float* dc2, float* dgates, float* dc, std::int64_t batch,
                                    std::int64_t hidden) {
  lstm_backward_impl(act, c, tc, dh2, dc2, dgates, dc, batch, hidden);
}
AG_CLONES_AVX2 void lstm_backward_d(const double* act, const double* c, const double* tc, const double* dh2,
                                    const double* dc2, double* dgates, double* dc, std::int64_t batch,
                                    std::int64_t hidden) {
  lstm_backward_impl(act, c, tc, dh2, dc2, dgates, dc, batch, hidden);
}
}  // namespace

void lstm_backward(const float* act, const float* c, const float* tc, const float* dh2, const float* dc2, float* dgates,
                   float* dc, std::int64_t batch, std::int64_t hidden) {
  lstm_backward_f(act, c, tc, dh2, dc2, dgates, dc, batch, hidden);
}
void lstm_backward(const double* act, const double* c, const double* tc, const double* dh2, const double* dc2,
                   double* dgates, double* dc, std::int64_t batch, std::int64_t hidden) {
  lstm_backward_d(act, c, tc, dh2, dc2, dgates, dc, batch, hidden);
}

}  // namespace ag::kernels
