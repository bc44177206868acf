#pragma once
/// @file kernels/compare.h
/// The three-operand select loop behind where(), with NumPy broadcasting of all three buffers.
/// (Two-operand comparisons use kernels::zip.)

#include <cstdint>
#include <vector>

#include "autograd/shape.h"

namespace ag::kernels {

/// y = m != 0 ? a : b elementwise; m, a, b have shapes `ms`, `as`, `bs`, y the broadcast shape `out`.
template <class M, class T>
inline void where(const M* m, const Shape& ms, const T* a, const Shape& as, const T* b, const Shape& bs, T* y,
                  const Shape& out) {
  const std::int64_t n = shape_numel(out);
  if (n == 0) return;
  if (shape_numel(ms) == n && shape_numel(as) == n && shape_numel(bs) == n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = m[i] != M(0) ? a[i] : b[i];
    return;
  }
  const Shape sm = broadcast_strides(ms, out), sa = broadcast_strides(as, out), sb = broadcast_strides(bs, out);
  const std::size_t r = out.size();
  const std::int64_t inner = out[r - 1];
  const std::int64_t im = sm[r - 1], ia = sa[r - 1], ib = sb[r - 1];
  std::vector<std::int64_t> idx(r, 0);
  std::int64_t om = 0, oa = 0, ob = 0;
  for (std::int64_t o = 0; o < n; o += inner) {
    const M* pm = m + om;
    const T* pa = a + oa;
    const T* pb = b + ob;
    T* py = y + o;
    for (std::int64_t i = 0; i < inner; ++i) py[i] = pm[i * im] != M(0) ? pa[i * ia] : pb[i * ib];
    for (std::size_t d = r - 1; d-- > 0;) {
      if (++idx[d] < out[d]) {
        om += sm[d];
        oa += sa[d];
        ob += sb[d];
        break;
      }
      om -= sm[d] * (out[d] - 1);
      oa -= sa[d] * (out[d] - 1);
      ob -= sb[d] * (out[d] - 1);
      idx[d] = 0;
    }
  }
}

}  // namespace ag::kernels
