#pragma once
/// @file kernels/conv.h
/// The loops behind convolution and pooling, over contiguous [planes, H, W] buffers (a 1-D op is the
/// 2-D one with H = 1): im2col / col2im (convolution is im2col then a GEMM), max pooling with the
/// argmax of each window, and averaging over windows (average and adaptive average pooling).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace ag::kernels {

/// A sliding window over an [H, W] plane: kernel k, stride s, padding before p (the padding after is
/// implied by the output size o), dilation d. Output position (i, j) reads rows i sh - ph + a dh,
/// a < kh, and columns j sw - pw + b dw, b < kw.
struct Window2d {
  std::int64_t h, w;    ///< input plane
  std::int64_t kh, kw;  ///< kernel
  std::int64_t sh, sw;  ///< stride
  std::int64_t ph, pw;  ///< padding before (top, left)
  std::int64_t dh, dw;  ///< dilation
  std::int64_t oh, ow;  ///< output plane
};

/// cols[c kh kw + a kw + b, i ow + j] = x[c, i sh - ph + a dh, j sw - pw + b dw] (0 outside the plane),
/// for x [channels, h, w] and cols [channels kh kw, oh ow] (the layout of torch's unfold). Defined in
/// kernels/im2col.cpp (inline copies of the rows, AVX2 / baseline clones).
void im2col(const float* x, float* cols, std::int64_t channels, const Window2d& g);
void im2col(const double* x, double* cols, std::int64_t channels, const Window2d& g);

/// The adjoint of im2col: x[c, r, cc] += cols[...] for every entry of cols that im2col read from
/// (r, cc); x [channels, h, w] is accumulated into (zero it first for col2im alone).
void col2im(const float* cols, float* x, std::int64_t channels, const Window2d& g);
void col2im(const double* cols, double* x, std::int64_t channels, const Window2d& g);

/// Max pooling of x [planes, h, w] into y [planes, oh, ow] with idx the flat index r w + cc in its
/// plane of each maximum (as torch's max_pool2d_with_indices). Padding counts as -inf; a NaN wins (as
/// in torch); the first of equal maxima is kept. Every window holds at least one element of the plane.
/// Defined in kernels/max_pool.cpp: branch-free loops over the windows that lie inside the plane
/// (vectorized over the output width; AVX-512 / AVX2 / baseline clones), max_pool2d_reference at the
/// borders; the values and indices are those of max_pool2d_reference.
void max_pool2d(const float* x, float* y, std::int64_t* idx, std::int64_t planes, const Window2d& g);
void max_pool2d(const double* x, double* y, std::int64_t* idx, std::int64_t planes, const Window2d& g);

/// max_pool2d one window at a time, with a branch per element (the reference for the fast loops, and
/// their border case).
template <class T>
void max_pool2d_reference(const T* x, T* y, std::int64_t* idx, std::int64_t planes, const Window2d& g);

/// One window of max_pool2d_reference: output (i, j) of the plane xp, written to yp[i ow + j] and
/// ip[i ow + j].
template <class T>
inline void max_pool2d_window(const T* xp, T* yp, std::int64_t* ip, std::int64_t i, std::int64_t j, const Window2d& g) {
  const std::int64_t r0 = i * g.sh - g.ph, c0 = j * g.sw - g.pw;
  T best = -std::numeric_limits<T>::infinity();
  std::int64_t at = -1;
  for (std::int64_t a = 0; a < g.kh; ++a) {
    const std::int64_t r = r0 + a * g.dh;
    if (r < 0 || r >= g.h) continue;
    for (std::int64_t b = 0; b < g.kw; ++b) {
      const std::int64_t cc = c0 + b * g.dw;
      if (cc < 0 || cc >= g.w) continue;
      const T v = xp[r * g.w + cc];
      if (at < 0 || v > best || std::isnan(v)) {
        best = v;
        at = r * g.w + cc;
        if (std::isnan(v)) goto done;
      }
    }
  }
done:
  yp[i * g.ow + j] = best;
  ip[i * g.ow + j] = at < 0 ? 0 : at;
}

template <class T>
void max_pool2d_reference(const T* x, T* y, std::int64_t* idx, std::int64_t planes, const Window2d& g) {
  for (std::int64_t p = 0; p < planes; ++p)
    for (std::int64_t i = 0; i < g.oh; ++i)
      for (std::int64_t j = 0; j < g.ow; ++j)
        max_pool2d_window(x + p * g.h * g.w, y + p * g.oh * g.ow, idx + p * g.oh * g.ow, i, j, g);
}

/// Windows along one dim for averaging: output o averages input positions [start[o], end[o]) with
/// weight scale[o] (the product of the two dims' scales divides the window's sum).
struct AvgAxis {
  std::vector<std::int64_t> start, end;
  std::vector<double> scale;
};

/// y[p, i, j] = rows.scale[i] cols.scale[j] sum of x[p, r, c] over the window, for x [planes, h, w]
/// and y [planes, rows.size(), cols.size()].
template <class T>
void window_average(const T* x, T* y, std::int64_t planes, std::int64_t h, std::int64_t w, const AvgAxis& rows,
                    const AvgAxis& cols) {
  const auto oh = static_cast<std::int64_t>(rows.start.size()), ow = static_cast<std::int64_t>(cols.start.size());
  for (std::int64_t p = 0; p < planes; ++p) {
    const T* xp = x + p * h * w;
    T* yp = y + p * oh * ow;
    for (std::int64_t i = 0; i < oh; ++i)
      for (std::int64_t j = 0; j < ow; ++j) {
        const auto iu = static_cast<std::size_t>(i), ju = static_cast<std::size_t>(j);
        T s = 0;
        for (std::int64_t r = rows.start[iu]; r < rows.end[iu]; ++r)
          for (std::int64_t c = cols.start[ju]; c < cols.end[ju]; ++c) s += xp[r * w + c];
        yp[i * ow + j] = s * static_cast<T>(rows.scale[iu] * cols.scale[ju]);
      }
  }
}

/// The adjoint of window_average: gx[p, r, c] += scale g[p, i, j] over every window holding (r, c);
/// gx [planes, h, w] is accumulated into.
template <class T>
void window_average_adjoint(const T* g, T* gx, std::int64_t planes, std::int64_t h, std::int64_t w, const AvgAxis& rows,
                            const AvgAxis& cols) {
  const auto oh = static_cast<std::int64_t>(rows.start.size()), ow = static_cast<std::int64_t>(cols.start.size());
  for (std::int64_t p = 0; p < planes; ++p) {
    T* xp = gx + p * h * w;
    const T* gp = g + p * oh * ow;
    for (std::int64_t i = 0; i < oh; ++i)
      for (std::int64_t j = 0; j < ow; ++j) {
        const auto iu = static_cast<std::size_t>(i), ju = static_cast<std::size_t>(j);
        const T v = gp[i * ow + j] * static_cast<T>(rows.scale[iu] * cols.scale[ju]);
        for (std::int64_t r = rows.start[iu]; r < rows.end[iu]; ++r)
          for (std::int64_t c = cols.start[ju]; c < cols.end[ju]; ++c) xp[r * w + c] += v;
      }
  }
}

}  // namespace ag::kernels
