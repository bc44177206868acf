// The selects below become vector blends only when FP compares are not treated as trapping; results
// are unchanged (no FP exception is ever inspected).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include <algorithm>
#include <cstdint>

#include "autograd/kernels/conv.h"
#include "autograd/kernels/target_clones.h"

// The interior loops are compiled for AVX2 and the x86-64 baseline (AG_CLONES_AVX2).
// Compares and selects only: every clone gives the same values and indices. No AVX-512 clone: its
// 16-float vectors leave LeNet's output rows (12 and 4 wide) to the scalar remainder loop, with a
// mispredicted branch per compare (2x2 pooling of [384, 24, 24] then [1024, 8, 8]: 208 + 167 us with
// it, 87 + 37 us without, against 944 + 269 us for max_pool2d_reference).

namespace ag::kernels {

namespace {

/// The output positions [lo, hi) along one dim whose window lies inside [0, n): o s - p >= 0 and
/// o s - p + (k - 1) d < n.
void inside(std::int64_t n, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t d, std::int64_t out,
            std::int64_t& lo, std::int64_t& hi) {
  lo = std::min(p == 0 ? 0 : (p - 1) / s + 1, out);   // ceil(p / s), without forming p + s
  const std::int64_t last = n - 1 - (k - 1) * d + p;  // o s <= last
  hi = last < 0 ? 0 : std::min(last / s + 1, out);
  hi = std::max(hi, lo);
}

/// Outputs [j0, j1) of row i, every window inside the plane: y and idx of the row start as the
/// window's first element, then each later element (in the reference's order: rows, then columns)
/// replaces them when greater, or when NaN and the maximum so far is not (the first NaN wins).
/// S: the column stride when known at compile time (1, 2), 0 otherwise.
template <class T, int S>
[[gnu::always_inline]] inline void interior_row(const T* __restrict xp, T* __restrict yr, std::int64_t* __restrict ir,
                                                std::int64_t i, std::int64_t j0, std::int64_t j1, const Window2d& g) {
  const std::int64_t sw = S > 0 ? S : g.sw;
  const std::int64_t r0 = i * g.sh - g.ph;
  {
    const std::int64_t base = r0 * g.w - g.pw;
    for (std::int64_t j = j0; j < j1; ++j) {
      yr[j] = xp[base + j * sw];
      ir[j] = base + j * sw;
    }
  }
  for (std::int64_t a = 0; a < g.kh; ++a)
    for (std::int64_t b = a == 0 ? 1 : 0; b < g.kw; ++b) {
      const std::int64_t base = (r0 + a * g.dh) * g.w + b * g.dw - g.pw;
      for (std::int64_t j = j0; j < j1; ++j) {
        const T v = xp[base + j * sw], m = yr[j];
        const bool take = v > m || (v != v && m == m);
        yr[j] = take ? v : m;
        ir[j] = take ? base + j * sw : ir[j];
      }
    }
}

/// The 2x2 stride-2 window without padding or dilation (LeNet's pooling): the four elements of each
/// window read as two pairs of rows.
template <class T>
[[gnu::always_inline]] inline void row_2x2(const T* __restrict xp, T* __restrict yr, std::int64_t* __restrict ir,
                                           std::int64_t i, std::int64_t j1, std::int64_t w) {
  const T* __restrict x0 = xp + 2 * i * w;
  const T* __restrict x1 = x0 + w;
  const std::int64_t base = 2 * i * w;
  for (std::int64_t j = 0; j < j1; ++j) {
    T m = x0[2 * j];
    std::int64_t at = base + 2 * j;
    const T v1 = x0[2 * j + 1], v2 = x1[2 * j], v3 = x1[2 * j + 1];
    bool take = v1 > m || (v1 != v1 && m == m);
    m = take ? v1 : m;
    at = take ? base + 2 * j + 1 : at;
    take = v2 > m || (v2 != v2 && m == m);
    m = take ? v2 : m;
    at = take ? base + w + 2 * j : at;
    take = v3 > m || (v3 != v3 && m == m);
    m = take ? v3 : m;
    at = take ? base + w + 2 * j + 1 : at;
    yr[j] = m;
    ir[j] = at;
  }
}

template <class T>
[[gnu::always_inline]] inline void pool_planes(const T* x, T* y, std::int64_t* idx, std::int64_t planes,
                                               const Window2d& g) {
  std::int64_t rlo = 0, rhi = 0, clo = 0, chi = 0;
  inside(g.h, g.kh, g.sh, g.ph, g.dh, g.oh, rlo, rhi);
  inside(g.w, g.kw, g.sw, g.pw, g.dw, g.ow, clo, chi);
  const bool two = g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 && g.dh == 1 && g.dw == 1;
  for (std::int64_t p = 0; p < planes; ++p) {
    const T* xp = x + p * g.h * g.w;
    T* yp = y + p * g.oh * g.ow;
    std::int64_t* ip = idx + p * g.oh * g.ow;
    for (std::int64_t i = 0; i < g.oh; ++i) {
      if (i < rlo || i >= rhi || clo == chi) {
        for (std::int64_t j = 0; j < g.ow; ++j) max_pool2d_window(xp, yp, ip, i, j, g);
        continue;
      }
      for (std::int64_t j = 0; j < clo; ++j) max_pool2d_window(xp, yp, ip, i, j, g);
      T* yr = yp + i * g.ow;
      std::int64_t* ir = ip + i * g.ow;
      if (two) row_2x2(xp, yr, ir, i, chi, g.w);  // clo = 0 here
      else if (g.sw == 1) interior_row<T, 1>(xp, yr, ir, i, clo, chi, g);
      else if (g.sw == 2) interior_row<T, 2>(xp, yr, ir, i, clo, chi, g);
      else interior_row<T, 0>(xp, yr, ir, i, clo, chi, g);
      for (std::int64_t j = chi; j < g.ow; ++j) max_pool2d_window(xp, yp, ip, i, j, g);
    }
  }
}

AG_CLONES_AVX2 void pool_f(const float* x, float* y, std::int64_t* idx, std::int64_t planes, const Window2d& g) {
  pool_planes(x, y, idx, planes, g);
}
AG_CLONES_AVX2 void pool_d(const double* x, double* y, std::int64_t* idx, std::int64_t planes, const Window2d& g) {
  pool_planes(x, y, idx, planes, g);
}

}  // namespace

void max_pool2d(const float* x, float* y, std::int64_t* idx, std::int64_t planes, const Window2d& g) {
  pool_f(x, y, idx, planes, g);
}

void max_pool2d(const double* x, double* y, std::int64_t* idx, std::int64_t planes, const Window2d& g) {
  pool_d(x, y, idx, planes, g);
}

}  // namespace ag::kernels
