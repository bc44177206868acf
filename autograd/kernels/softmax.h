#pragma once
/// @file kernels/softmax.h
/// Log-sum-exp, softmax and log-softmax over one dim of a contiguous buffer viewed as
/// [outer, n, inner], shifted by the max of each slice so that nothing overflows.

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace ag::kernels {

/// What softmax_dim writes: logsumexp ([outer, inner]), softmax or log_softmax ([outer, n, inner]).
enum class SoftmaxKind { LogSumExp, Softmax, LogSoftmax };

/// The shift of a slice: its max, or 0 when the max is infinite (as libtorch's logsumexp), so that
/// x - shift is never inf - inf; NaN propagates. An empty slice has shift 0 and sum 0.
template <class T>
inline T softmax_shift(T m) {
  return std::isinf(m) ? T(0) : m;
}

template <SoftmaxKind K, class T>
inline void softmax_dim(const T* x, T* y, std::int64_t outer, std::int64_t n, std::int64_t inner) {
  std::vector<T> shift(static_cast<std::size_t>(inner)), total(static_cast<std::size_t>(inner));
  T* m = shift.data();
  T* s = total.data();
  for (std::int64_t o = 0; o < outer; ++o) {
    const T* px = x + o * n * inner;
    T* py = K == SoftmaxKind::LogSumExp ? y + o * inner : y + o * n * inner;
    for (std::int64_t i = 0; i < inner; ++i) {
      m[i] = -std::numeric_limits<T>::infinity();
      s[i] = T(0);
    }
    for (std::int64_t k = 0; k < n; ++k)
      for (std::int64_t i = 0; i < inner; ++i) {
        const T v = px[k * inner + i];
        if (v > m[i] || (v != v && m[i] == m[i])) m[i] = v;
      }
    for (std::int64_t i = 0; i < inner; ++i) m[i] = softmax_shift(m[i]);
    for (std::int64_t k = 0; k < n; ++k)
      for (std::int64_t i = 0; i < inner; ++i) {
        const T e = std::exp(px[k * inner + i] - m[i]);
        if constexpr (K == SoftmaxKind::Softmax) py[k * inner + i] = e;
        s[i] += e;
      }
    if constexpr (K == SoftmaxKind::LogSumExp) {
      for (std::int64_t i = 0; i < inner; ++i) py[i] = std::log(s[i]) + m[i];
    } else if constexpr (K == SoftmaxKind::Softmax) {
      for (std::int64_t i = 0; i < inner; ++i) s[i] = T(1) / s[i];
      for (std::int64_t k = 0; k < n; ++k)
        for (std::int64_t i = 0; i < inner; ++i) py[k * inner + i] *= s[i];
    } else {
      for (std::int64_t i = 0; i < inner; ++i) s[i] = std::log(s[i]);
      for (std::int64_t k = 0; k < n; ++k)
        for (std::int64_t i = 0; i < inner; ++i) py[k * inner + i] = (px[k * inner + i] - m[i]) - s[i];
    }
  }
}

}  // namespace ag::kernels
