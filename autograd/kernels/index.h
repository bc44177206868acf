#pragma once
/// @file kernels/index.h
/// Row copies along one dim of a contiguous buffer viewed as [outer, n, inner], and the
/// element-wise gather / scatter-add along one dim.

#include <cstdint>
#include <cstring>
#include <vector>

#include "autograd/kernels/elementwise.h"
#include "autograd/shape.h"

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

namespace ag::kernels {

/// y[p] = x[p with p[dim] replaced by idx[p]] for every position p of the index shape `is`
/// (x has shape `xs`; idx and y have shape `is`; indices already checked to lie in [0, xs[dim])).
template <class T>
inline void gather(const T* x, const Shape& xs, const std::int64_t* idx, T* y, const Shape& is, std::size_t dim) {
  Shape sx = contiguous_strides(xs);
  const std::int64_t sd = sx[dim];
  sx[dim] = 0;
  const Shape zero(is.size(), 0);
  for_each_row(is, sx, zero,
               [&](std::int64_t ox, std::int64_t, std::int64_t o, std::int64_t inner, std::int64_t ix, std::int64_t) {
                 for (std::int64_t i = 0; i < inner; ++i) y[o + i] = x[ox + i * ix + idx[o + i] * sd];
               });
}

/// y[p with p[dim] replaced by idx[p]] += x[p] for every position p of the index shape `is`
/// (y has shape `ys`, zeroed by the caller; x and idx have shape `is`).
template <class T>
inline void scatter_add(const T* x, const std::int64_t* idx, const Shape& is, T* y, const Shape& ys, std::size_t dim) {
  Shape sy = contiguous_strides(ys);
  const std::int64_t sd = sy[dim];
  sy[dim] = 0;
  const Shape zero(is.size(), 0);
  for_each_row(is, sy, zero,
               [&](std::int64_t oy, std::int64_t, std::int64_t o, std::int64_t inner, std::int64_t iy, std::int64_t) {
                 for (std::int64_t i = 0; i < inner; ++i) y[oy + i * iy + idx[o + i] * sd] += x[o + i];
               });
}

}  // namespace ag::kernels
