#pragma once
/// @file kernels/elementwise.h
/// Elementwise loops over raw contiguous buffers, with NumPy broadcasting. Functors are inlined:
/// no virtual call or std::function per element. Kernels know nothing of tensors or the tape.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "autograd/parallel.h"
#include "autograd/shape.h"

namespace ag::kernels {

/// Elements below which a cheap elementwise loop (add, mul, copy) stays on one thread: waking the
/// pool costs a few microseconds, about what one core spends on this many floats.
inline constexpr std::int64_t kGrain = kParallelGrain;
/// The same for loops that cost ~10 ns per element or more (exp, tanh, sigmoid).
inline constexpr std::int64_t kGrainHeavy = 4096;

/// True when a floating value truncates to a representable int64 (finite and within range).
inline bool fits_int64(double v) { return v >= -9223372036854775808.0 && v < 9223372036854775808.0; }

/// y[i] = f(x[i])
template <class T, class U, class F>
inline void map(const T* x, U* y, std::int64_t n, F f) {
  parallel_for(0, n, kGrain, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) y[i] = f(x[i]);
  });
}

/// Walks the rows [row_begin, row_end) of `out` (a row: all but the last dim fixed) in row-major
/// order, calling body(offset_a, offset_b, offset_out_begin, inner, stride_a, stride_b) once per row;
/// offsets follow the strides `sa`, `sb` (0 on broadcast dims).
template <class Body>
inline void for_rows(const Shape& out, const Shape& sa, const Shape& sb, std::int64_t row_begin, std::int64_t row_end,
                     Body body) {
  const std::size_t r = out.size();
  if (r == 0) {
    if (row_begin < row_end) body(0, 0, 0, 1, 0, 0);
    return;
  }
  const std::int64_t inner = out[r - 1];
  if (inner == 0 || row_begin >= row_end) return;
  Shape idx(r, 0);  // inline up to 6 dims: no allocation
  std::int64_t oa = 0, ob = 0;
  for (std::size_t d = r - 1, rem = static_cast<std::size_t>(row_begin); d-- > 0;) {
    idx[d] = static_cast<std::int64_t>(rem % static_cast<std::size_t>(out[d]));
    rem /= static_cast<std::size_t>(out[d]);
    oa += idx[d] * sa[d];
    ob += idx[d] * sb[d];
  }
  for (std::int64_t row = row_begin; row < row_end; ++row) {
    body(oa, ob, row * inner, inner, sa[r - 1], sb[r - 1]);
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

/// The number of rows of `out` (1 for a scalar; 0 when it is empty).
inline std::int64_t num_rows(const Shape& out) {
  if (out.empty()) return 1;
  return out.back() == 0 ? 0 : shape_numel(out) / out.back();
}

/// for_rows over every row of `out`, on one thread.
template <class Body>
inline void for_each_row(const Shape& out, const Shape& sa, const Shape& sb, Body body) {
  for_rows(out, sa, sb, 0, num_rows(out), body);
}

/// for_rows over every row of `out`, rows split between threads when `out` holds more than
/// `grain` elements. body must write only to the output row it is given.
template <class Body>
inline void parallel_rows(const Shape& out, const Shape& sa, const Shape& sb, std::int64_t grain, Body body) {
  const std::int64_t rows = num_rows(out);
  const std::int64_t inner = out.empty() ? 1 : std::max<std::int64_t>(out.back(), 1);
  parallel_for(0, rows, std::max<std::int64_t>(grain / inner, 1),
               [&](std::int64_t b, std::int64_t e) { for_rows(out, sa, sb, b, e, body); });
}

/// y = f(a, b) with a of shape `as`, b of shape `bs`, y of the broadcast shape `out`.
template <class T, class U, class F>
inline void zip(const T* a, const Shape& as, const T* b, const Shape& bs, U* y, const Shape& out, F f) {
  const std::int64_t n = shape_numel(out);
  const std::int64_t na = shape_numel(as), nb = shape_numel(bs);
  if (na == n && nb == n) {
    parallel_for(0, n, kGrain, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) y[i] = f(a[i], b[i]);
    });
  } else if (nb == 1 && na == n) {
    const T s = b[0];
    parallel_for(0, n, kGrain, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) y[i] = f(a[i], s);
    });
  } else if (na == 1 && nb == n) {
    const T s = a[0];
    parallel_for(0, n, kGrain, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) y[i] = f(s, b[i]);
    });
  } else {
    const Shape sa = broadcast_strides(as, out), sb = broadcast_strides(bs, out);
    parallel_rows(out, sa, sb, kGrain,
                  [&](std::int64_t oa, std::int64_t ob, std::int64_t o, std::int64_t inner, std::int64_t ia,
                      std::int64_t ib) {
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

/// y = f(a, b) for y of shape `out` (contiguous), a and b read through strides `sa`, `sb` (in
/// elements, one per dim of out, 0 on broadcast dims): non-contiguous views without a copy.
template <class T, class U, class F>
inline void zip_strided(const T* a, const Shape& sa, const T* b, const Shape& sb, U* y, const Shape& out, F f) {
  parallel_rows(out, sa, sb, kGrain,
                [&](std::int64_t oa, std::int64_t ob, std::int64_t o, std::int64_t inner, std::int64_t ia,
                    std::int64_t ib) {
                  const T* pa = a + oa;
                  const T* pb = b + ob;
                  U* py = y + o;
                  for (std::int64_t i = 0; i < inner; ++i) py[i] = f(pa[i * ia], pb[i * ib]);
                });
}

/// y = f(x) for y of shape `out` (contiguous), x read through `strides`.
template <class T, class U, class F>
inline void map_strided(const T* x, const Shape& strides, U* y, const Shape& out, F f) {
  const Shape zero(out.size(), 0);
  parallel_rows(out, strides, zero, kGrain,
                [&](std::int64_t ox, std::int64_t, std::int64_t o, std::int64_t inner, std::int64_t ix, std::int64_t) {
                  const T* px = x + ox;
                  U* py = y + o;
                  for (std::int64_t i = 0; i < inner; ++i) py[i] = f(px[i * ix]);
                });
}

/// Sums x (shape `xs`) into y (shape `ys`, which broadcasts to `xs`): undoes broadcasting. Threads
/// split the first dim when it is kept, else the last one when it is kept; every y element adds its
/// terms in the same order as on one thread.
template <class T>
inline void sum_to(const T* x, const Shape& xs, T* y, const Shape& ys) {
  const std::int64_t ny = shape_numel(ys);
  for (std::int64_t i = 0; i < ny; ++i) y[i] = T(0);
  const Shape sy = broadcast_strides(ys, xs);
  const Shape zero(xs.size(), 0);
  const std::size_t r = xs.size();
  const std::int64_t n = shape_numel(xs), rows = num_rows(xs), inner = r == 0 ? 1 : xs[r - 1];
  auto part = [&](std::int64_t r0, std::int64_t r1, std::int64_t c0, std::int64_t c1) {
    for_rows(xs, sy, zero, r0, r1,
             [&](std::int64_t oy, std::int64_t, std::int64_t o, std::int64_t, std::int64_t iy, std::int64_t) {
               const T* px = x + o;
               T* py = y + oy;
               if (iy == 0) {
                 T acc = T(0);
                 for (std::int64_t i = c0; i < c1; ++i) acc += px[i];
                 *py += acc;
               } else {
                 for (std::int64_t i = c0; i < c1; ++i) py[i * iy] += px[i];
               }
             });
  };
  if (n > kGrain && r >= 2 && sy[0] != 0) {
    const std::int64_t per = rows / xs[0];
    parallel_for(0, xs[0], std::max<std::int64_t>(kGrain / (n / xs[0]), 1),
                 [&](std::int64_t b, std::int64_t e) { part(b * per, e * per, 0, inner); });
  } else if (n > kGrain && r >= 1 && sy[r - 1] != 0) {
    parallel_for(0, inner, std::max<std::int64_t>(kGrain / rows, 1),
                 [&](std::int64_t b, std::int64_t e) { part(0, rows, b, e); });
  } else {
    part(0, rows, 0, inner);
  }
}

/// Copies x (shape `xs`) broadcast into y (shape `ys`).
template <class T>
inline void broadcast_to(const T* x, const Shape& xs, T* y, const Shape& ys) {
  const Shape sx = broadcast_strides(xs, ys);
  const Shape zero(ys.size(), 0);
  parallel_rows(ys, sx, zero, kGrain,
                [&](std::int64_t ox, std::int64_t, std::int64_t o, std::int64_t inner, std::int64_t ix, std::int64_t) {
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

/// strided_copy of a view whose last two dims are transposed (stride 1 on the second last: x.t(),
/// transpose(-1, -2)): copied in kTransposeTile-square tiles, so that the tile's source and destination
/// lines stay in L1. Row by row, each element read touched a new line (and from 1024 columns a new
/// page): 1.9-5x slower on 256x1024 to 1024x1024 floats (ag_bench BM_t_contiguous).
inline constexpr std::int64_t kTransposeTile = 16;
template <class T>
inline void transposed_copy(const T* x, const Shape& strides, T* y, const Shape& out) {
  const std::size_t r = out.size();
  const std::int64_t rows = out[r - 2], cols = out[r - 1], cs = strides[r - 1];
  // for_rows over (leading dims..., row tile, 1): each "row" is one tile row, at x's and y's offsets
  // (x's stride over rows is 1, so a tile row starts kTransposeTile further on)
  Shape tiles(out.begin(), out.end() - 2), sx(strides.begin(), strides.end() - 2), sy = contiguous_strides(out);
  sy.resize(r - 2);
  tiles.push_back((rows + kTransposeTile - 1) / kTransposeTile);
  tiles.push_back(1);
  sx.push_back(kTransposeTile);
  sx.push_back(0);
  sy.push_back(kTransposeTile * cols);
  sy.push_back(0);
  const std::int64_t row_tiles = tiles[r - 2];
  parallel_rows(tiles, sx, sy, std::max<std::int64_t>(kGrain / (kTransposeTile * cols), 1),
                [&](std::int64_t ox, std::int64_t oy, std::int64_t t, std::int64_t, std::int64_t, std::int64_t) {
                  const std::int64_t n = std::min(kTransposeTile, rows - (t % row_tiles) * kTransposeTile);
                  const T* xt = x + ox;
                  T* yt = y + oy;
                  for (std::int64_t j0 = 0; j0 < cols; j0 += kTransposeTile) {
                    const std::int64_t j1 = std::min(cols, j0 + kTransposeTile);
                    // y's rows inner: a column-inner loop wrote 16 lines 4 KiB apart (cols 1024), one L1
                    // set, and ran 3x slower than row by row
                    for (std::int64_t i = 0; i < n; ++i)
                      for (std::int64_t j = j0; j < j1; ++j) yt[i * cols + j] = xt[i + j * cs];
                  }
                });
}

/// y (contiguous, shape `out`) = x read through `strides` (one per dim of `out`, in elements).
template <class T>
inline void strided_copy(const T* x, const Shape& strides, T* y, const Shape& out) {
  const std::size_t r = out.size();
  if (r >= 2 && strides[r - 2] == 1 && strides[r - 1] != 1 && out[r - 1] >= kTransposeTile &&
      out[r - 2] >= kTransposeTile)
    return transposed_copy(x, strides, y, out);
  const Shape zero(out.size(), 0);
  parallel_rows(out, strides, zero, kGrain,
                [&](std::int64_t ox, std::int64_t, std::int64_t o, std::int64_t inner, std::int64_t ix, std::int64_t) {
                  const T* px = x + ox;
                  T* py = y + o;
                  if (ix == 1) {
                    for (std::int64_t i = 0; i < inner; ++i) py[i] = px[i];
                  } else {
                    for (std::int64_t i = 0; i < inner; ++i) py[i] = px[i * ix];
                  }
                });
}

/// y[strided] = x: writes the contiguous values x (shape `out`) into y at the given strides (y must not
/// overlap itself).
template <class T>
inline void strided_write(const T* x, T* y, const Shape& strides, const Shape& out) {
  const Shape zero(out.size(), 0);
  parallel_rows(out, strides, zero, kGrain,
                [&](std::int64_t oy, std::int64_t, std::int64_t o, std::int64_t inner, std::int64_t iy, std::int64_t) {
                  const T* px = x + o;
                  T* py = y + oy;
                  for (std::int64_t i = 0; i < inner; ++i) py[i * iy] = px[i];
                });
}

/// y[strided] += x, in order (positions may repeat: expand, overlapping windows).
template <class T>
inline void strided_add(const T* x, T* y, const Shape& strides, const Shape& out) {
  const Shape zero(out.size(), 0);
  for_each_row(out, strides, zero,
               [&](std::int64_t oy, std::int64_t, std::int64_t o, std::int64_t inner, std::int64_t iy, std::int64_t) {
                 const T* px = x + o;
                 T* py = y + oy;
                 for (std::int64_t i = 0; i < inner; ++i) py[i * iy] += px[i];
               });
}

}  // namespace ag::kernels
