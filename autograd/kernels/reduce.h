#pragma once
/// @file kernels/reduce.h
/// Reductions over one dim of a contiguous buffer viewed as [outer, n, inner].

#include <cstdint>

namespace ag::kernels {

/// y[o, i] = sum_k x[o, k, i]
template <class T>
inline void sum_dim(const T* x, T* y, std::int64_t outer, std::int64_t n, std::int64_t inner) {
  for (std::int64_t o = 0; o < outer; ++o) {
    T* py = y + o * inner;
    for (std::int64_t i = 0; i < inner; ++i) py[i] = T(0);
    const T* px = x + o * n * inner;
    if (inner == 1) {
      T acc = T(0);
      for (std::int64_t k = 0; k < n; ++k) acc += px[k];
      py[0] = acc;
    } else {
      for (std::int64_t k = 0; k < n; ++k)
        for (std::int64_t i = 0; i < inner; ++i) py[i] += px[k * inner + i];
    }
  }
}

/// Sum of all n elements (pairwise in blocks, for accuracy on long float32 sums).
template <class T>
inline T sum_all(const T* x, std::int64_t n) {
  if (n <= 256) {
    T acc = T(0);
    for (std::int64_t i = 0; i < n; ++i) acc += x[i];
    return acc;
  }
  const std::int64_t h = n / 2;
  return sum_all(x, h) + sum_all(x + h, n - h);
}

}  // namespace ag::kernels
