// The row copies below stay inline loops (GCC would otherwise call memcpy for each row of ow
// elements: 24 or 8 floats in LeNet, where the call costs more than the copy).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif

#include <algorithm>
#include <cstdint>

#include "autograd/kernels/conv.h"
#include "autograd/kernels/target_clones.h"

// Compiled for AVX2 and the x86-64 baseline (AG_CLONES_AVX2). Copies and additions in
// the same order: every clone gives the same bits.

namespace ag::kernels {

namespace {

/// The columns j in [lo, hi) of a row of cols whose input column c0 + j s lies in [0, w).
void columns_inside(std::int64_t c0, std::int64_t s, std::int64_t w, std::int64_t ow, std::int64_t& lo,
                    std::int64_t& hi) {
  lo = c0 >= 0 ? 0 : std::min((-c0 - 1) / s + 1, ow);  // ceil(-c0 / s), without forming -c0 + s
  hi = w - 1 - c0 < 0 ? 0 : std::min((w - 1 - c0) / s + 1, ow);
  hi = std::max(hi, lo);
}

/// dst[j] = src[j] for j < n: whole 32-byte blocks, the last one overlapping the one before it
/// (n >= one block), so that a row of 8 or 24 floats (LeNet's) is one or three moves and no loop tail.
template <class T>
[[gnu::always_inline]] inline void copy_contiguous(const T* __restrict src, T* __restrict dst, std::int64_t n) {
  constexpr std::int64_t v = 32 / sizeof(T);
  if (n < v) {
    for (std::int64_t j = 0; j < n; ++j) dst[j] = src[j];
    return;
  }
  std::int64_t j = 0;
  for (; j + v <= n; j += v) __builtin_memcpy(dst + j, src + j, 32);
  if (j < n) __builtin_memcpy(dst + n - v, src + n - v, 32);
}

/// One row of cols (or of its adjoint): out[j] = in[c0 + j s] (or in[c0 + j s] += out[j]) for j in
/// [lo, hi); S is the stride when known at compile time (1), 0 otherwise.
template <class T, int S>
[[gnu::always_inline]] inline void copy_row(const T* __restrict xr, T* __restrict out, std::int64_t c0, std::int64_t s,
                                            std::int64_t lo, std::int64_t hi) {
  if constexpr (S == 1) {
    copy_contiguous(xr + c0 + lo, out + lo, hi - lo);
  } else {
    const std::int64_t st = S > 0 ? S : s;
    for (std::int64_t j = lo; j < hi; ++j) out[j] = xr[c0 + j * st];
  }
}

template <class T, int S>
[[gnu::always_inline]] inline void add_row(const T* __restrict in, T* __restrict xr, std::int64_t c0, std::int64_t s,
                                           std::int64_t lo, std::int64_t hi) {
  const std::int64_t st = S > 0 ? S : s;
  for (std::int64_t j = lo; j < hi; ++j) xr[c0 + j * st] += in[j];
}

template <class T>
[[gnu::always_inline]] inline void im2col_impl(const T* x, T* cols, std::int64_t channels, const Window2d& g) {
  const std::int64_t l = g.oh * g.ow;
  for (std::int64_t c = 0; c < channels; ++c) {
    const T* xc = x + c * g.h * g.w;
    for (std::int64_t a = 0; a < g.kh; ++a) {
      std::int64_t ilo = 0, ihi = 0;  // the output rows whose input row lies inside the plane
      columns_inside(a * g.dh - g.ph, g.sh, g.h, g.oh, ilo, ihi);
      for (std::int64_t b = 0; b < g.kw; ++b) {
        T* row = cols + ((c * g.kh + a) * g.kw + b) * l;
        const std::int64_t c0 = b * g.dw - g.pw;  // column read by j = 0
        std::int64_t lo = 0, hi = 0;
        columns_inside(c0, g.sw, g.w, g.ow, lo, hi);
        for (std::int64_t j = 0; j < ilo * g.ow; ++j) row[j] = T(0);
        for (std::int64_t j = ihi * g.ow; j < l; ++j) row[j] = T(0);
        const T* x0 = xc + (a * g.dh - g.ph) * g.w + c0;  // row i reads x0 + i sh w (+ j sw)
        if (g.sw == 1 && lo == 0 && hi == g.ow) {         // whole rows: one contiguous copy each
          for (std::int64_t i = ilo; i < ihi; ++i) copy_contiguous(x0 + i * g.sh * g.w, row + i * g.ow, g.ow);
          continue;
        }
        for (std::int64_t i = ilo; i < ihi; ++i) {
          T* out = row + i * g.ow;
          const std::int64_t r = i * g.sh - g.ph + a * g.dh;
          for (std::int64_t j = 0; j < lo; ++j) out[j] = T(0);
          if (g.sw == 1) copy_row<T, 1>(xc + r * g.w, out, c0, 1, lo, hi);
          else copy_row<T, 0>(xc + r * g.w, out, c0, g.sw, lo, hi);
          for (std::int64_t j = hi; j < g.ow; ++j) out[j] = T(0);
        }
      }
    }
  }
}

/// dst[j] += src[j] for j < n: blocks of 32 bytes (fixed-length loops, one vector each), then the tail.
template <class T>
[[gnu::always_inline]] inline void add_contiguous(const T* __restrict src, T* __restrict dst, std::int64_t n) {
  constexpr std::int64_t v = 32 / sizeof(T);
  std::int64_t j = 0;
  for (; j + v <= n; j += v)
    for (std::int64_t t = 0; t < v; ++t) dst[j + t] += src[j + t];
  for (; j < n; ++j) dst[j] += src[j];
}

template <class T>
[[gnu::always_inline]] inline void col2im_impl(const T* cols, T* x, std::int64_t channels, const Window2d& g) {
  const std::int64_t l = g.oh * g.ow;
  for (std::int64_t c = 0; c < channels; ++c) {
    T* xc = x + c * g.h * g.w;
    for (std::int64_t a = 0; a < g.kh; ++a) {
      std::int64_t ilo = 0, ihi = 0;  // the output rows whose input row lies inside the plane
      columns_inside(a * g.dh - g.ph, g.sh, g.h, g.oh, ilo, ihi);
      for (std::int64_t b = 0; b < g.kw; ++b) {
        const T* row = cols + ((c * g.kh + a) * g.kw + b) * l;
        const std::int64_t c0 = b * g.dw - g.pw;
        std::int64_t lo = 0, hi = 0;
        columns_inside(c0, g.sw, g.w, g.ow, lo, hi);
        if (g.sw == 1 && lo == 0 && hi == g.ow) {  // whole rows
          T* x0 = xc + (a * g.dh - g.ph) * g.w + c0;
          for (std::int64_t i = ilo; i < ihi; ++i) add_contiguous(row + i * g.ow, x0 + i * g.sh * g.w, g.ow);
          continue;
        }
        for (std::int64_t i = ilo; i < ihi; ++i) {
          const std::int64_t r = i * g.sh - g.ph + a * g.dh;
          if (g.sw == 1) add_row<T, 1>(row + i * g.ow, xc + r * g.w, c0, 1, lo, hi);
          else add_row<T, 0>(row + i * g.ow, xc + r * g.w, c0, g.sw, lo, hi);
        }
      }
    }
  }
}

AG_CLONES_AVX2 void im2col_f(const float* x, float* cols, std::int64_t channels, const Window2d& g) {
  im2col_impl(x, cols, channels, g);
}
AG_CLONES_AVX2 void im2col_d(const double* x, double* cols, std::int64_t channels, const Window2d& g) {
  im2col_impl(x, cols, channels, g);
}
AG_CLONES_AVX2 void col2im_f(const float* cols, float* x, std::int64_t channels, const Window2d& g) {
  col2im_impl(cols, x, channels, g);
}
AG_CLONES_AVX2 void col2im_d(const double* cols, double* x, std::int64_t channels, const Window2d& g) {
  col2im_impl(cols, x, channels, g);
}

}  // namespace

void im2col(const float* x, float* cols, std::int64_t channels, const Window2d& g) { im2col_f(x, cols, channels, g); }
void im2col(const double* x, double* cols, std::int64_t channels, const Window2d& g) { im2col_d(x, cols, channels, g); }
void col2im(const float* cols, float* x, std::int64_t channels, const Window2d& g) { col2im_f(cols, x, channels, g); }
void col2im(const double* cols, double* x, std::int64_t channels, const Window2d& g) { col2im_d(cols, x, channels, g); }

}  // namespace ag::kernels
