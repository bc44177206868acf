#pragma once
/// @file kernels/elementwise.h
/// Elementwise loops over raw contiguous buffers, with NumPy broadcasting. Functors are inlined:
/// no virtual call or std::function per element. Kernels know nothing of tensors or the tape.

#include <cstdint>
#include <vector>

#include "autograd/shape.h"

namespace ag::kernels {

/// True when a floating value truncates to a representable int64 (finite and within range).
inline bool fits_int64(double v) { return v >= -9223372036854775808.0 && v < 9223372036854775808.0; }

/// y[i] = f(x[i])
template <class T, class U, class F>
inline void map(const T* x, U* y, std::int64_t n, F f) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

/// Walks every index of `out` in row-major order, calling body(offset_a, offset_b, offset_out_begin, inner)
/// once per innermost row; offsets follow the strides `sa`, `sb` (0 on broadcast dims).
template <class Body>
inline void for_each_row(const Shape& out, const Shape& sa, const Shape& sb, Body body) {
  const std::size_t r = out.size();
  if (r == 0) {
    body(0, 0, 0, 1, 0, 0);
    return;
  }
  const std::int64_t inner = out[r - 1];
  const std::int64_t total = shape_numel(out);
  if (total == 0) return;
  std::vector<std::int64_t> idx(r, 0);
  std::int64_t oa = 0, ob = 0;
  for (std::int64_t o = 0; o < total; o += inner) {
    body(oa, ob, o, inner, sa[r - 1], sb[r - 1]);
    for (std::size_t d = r - 1; d-- > 0;) {
      if (++idx[d] < out[d]) {
        oa += sa[d];
        ob += sb[d];
        break;
      }
      oa -= sa[d] * (out[d] - 1);
      ob -= sb[d] * (out[d] - 1);
      idx[d] = 0;
    }
  }
}

/// y = f(a, b) with a of shape `as`, b of shape `bs`, y of the broadcast shape `out`.
template <class T, class U, class F>
inline void zip(const T* a, const Shape& as, const T* b, const Shape& bs, U* y, const Shape& out, F f) {
  const std::int64_t n = shape_numel(out);
  const std::int64_t na = shape_numel(as), nb = shape_numel(bs);
  if (na == n && nb == n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = f(a[i], b[i]);
  } else if (nb == 1 && na == n) {
    const T s = b[0];
    for (std::int64_t i = 0; i < n; ++i) y[i] = f(a[i], s);
  } else if (na == 1 && nb == n) {
    const T s = a[0];
    for (std::int64_t i = 0; i < n; ++i) y[i] = f(s, b[i]);
  } else {
    const Shape sa = broadcast_strides(as, out), sb = broadcast_strides(bs, out);
    for_each_row(out, sa, sb, [&](std::int64_t oa, std::int64_t ob, std::int64_t o, std::int64_t inner,
                                  std::int64_t ia, std::int64_t ib) {
      const T* pa = a + oa;
      const T* pb = b + ob;
      U* py = y + o;
      if (ia == 1 && ib == 1) {
        for (std::int64_t i = 0; i < inner; ++i) py[i] = f(pa[i], pb[i]);
      } else {
        for (std::int64_t i = 0; i < inner; ++i) py[i] = f(pa[i * ia], pb[i * ib]);
      }
    });
  }
}

/// Sums x (shape `xs`) into y (shape `ys`, which broadcasts to `xs`): undoes broadcasting.
template <class T>
inline void sum_to(const T* x, const Shape& xs, T* y, const Shape& ys) {
  const std::int64_t ny = shape_numel(ys);
  for (std::int64_t i = 0; i < ny; ++i) y[i] = T(0);
  const Shape sy = broadcast_strides(ys, xs);
  const Shape zero(xs.size(), 0);
  for_each_row(xs, sy, zero, [&](std::int64_t oy, std::int64_t, std::int64_t o, std::int64_t inner,
                                 std::int64_t iy, std::int64_t) {
    const T* px = x + o;
    T* py = y + oy;
    if (iy == 0) {
      T acc = T(0);
      for (std::int64_t i = 0; i < inner; ++i) acc += px[i];
      *py += acc;
    } else {
      for (std::int64_t i = 0; i < inner; ++i) py[i * iy] += px[i];
    }
  });
}

/// Copies x (shape `xs`) broadcast into y (shape `ys`).
template <class T>
inline void broadcast_to(const T* x, const Shape& xs, T* y, const Shape& ys) {
  const Shape sx = broadcast_strides(xs, ys);
  const Shape zero(ys.size(), 0);
  for_each_row(ys, sx, zero, [&](std::int64_t ox, std::int64_t, std::int64_t o, std::int64_t inner,
                                 std::int64_t ix, std::int64_t) {
    const T* px = x + ox;
    T* py = y + o;
    for (std::int64_t i = 0; i < inner; ++i) py[i] = px[i * ix];
  });
}

/// Views a contiguous shape as [outer, n, inner] around dim `d`.
struct Split3 {
  std::int64_t outer = 1, n = 1, inner = 1;
};
inline Split3 split_at(const Shape& s, std::size_t d) {
  Split3 r;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i < d) r.outer *= s[i];
    else if (i == d) r.n = s[i];
    else r.inner *= s[i];
  }
  return r;
}

}  // namespace ag::kernels

namespace ag::kernels {

/// y (contiguous, shape `out`) = x read through `strides` (one per dim of `out`, in elements).
template <class T>
inline void strided_copy(const T* x, const Shape& strides, T* y, const Shape& out) {
  const Shape zero(out.size(), 0);
  for_each_row(out, strides, zero, [&](std::int64_t ox, std::int64_t, std::int64_t o, std::int64_t inner,
                                       std::int64_t ix, std::int64_t) {
    const T* px = x + ox;
    T* py = y + o;
    if (ix == 1) {
      for (std::int64_t i = 0; i < inner; ++i) py[i] = px[i];
    } else {
      for (std::int64_t i = 0; i < inner; ++i) py[i] = px[i * ix];
    }
  });
}

}  // namespace ag::kernels
