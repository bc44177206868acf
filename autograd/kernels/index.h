#pragma once
/// @file kernels/index.h
/// Row copies along one dim of a contiguous buffer viewed as [outer, n, inner].

#include <cstdint>
#include <cstring>
#include <vector>

namespace ag::kernels {

/// y[o, k, :] = x[o, idx[k], :]   (y is [outer, idx.size(), inner])
template <class T>
inline void take_rows(const T* x, T* y, std::int64_t outer, std::int64_t n, std::int64_t inner,
                      const std::vector<std::int64_t>& idx) {
  const auto m = static_cast<std::int64_t>(idx.size());
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t k = 0; k < m; ++k)
      std::memcpy(y + (o * m + k) * inner, x + (o * n + idx[static_cast<std::size_t>(k)]) * inner,
                  static_cast<std::size_t>(inner) * sizeof(T));
}

/// y[o, idx[k], :] += x[o, k, :]   (y is [outer, n, inner], zeroed by the caller)
template <class T>
inline void put_rows_add(const T* x, T* y, std::int64_t outer, std::int64_t n, std::int64_t inner,
                         const std::vector<std::int64_t>& idx) {
  const auto m = static_cast<std::int64_t>(idx.size());
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t k = 0; k < m; ++k) {
      const T* src = x + (o * m + k) * inner;
      T* dst = y + (o * n + idx[static_cast<std::size_t>(k)]) * inner;
      for (std::int64_t i = 0; i < inner; ++i) dst[i] += src[i];
    }
}

}  // namespace ag::kernels
