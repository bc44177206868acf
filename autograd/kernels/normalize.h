#pragma once
/// @file kernels/normalize.h
/// Standardising the rows of a contiguous [rows, n] buffer: y = (x - mean) * rstd with
/// rstd = 1 / sqrt(biased variance + eps), the variance taken around the mean (two passes).

#include <cmath>
#include <cstdint>

namespace ag::kernels {

template <class T>
inline void normalize_rows(const T* x, T* y, T* rstd, std::int64_t rows, std::int64_t n, double eps) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* px = x + r * n;
    T* py = y + r * n;
    double s = 0;
    for (std::int64_t k = 0; k < n; ++k) s += static_cast<double>(px[k]);
    const double mean = s / static_cast<double>(n);
    double ss = 0;
    for (std::int64_t k = 0; k < n; ++k) {
      const double d = static_cast<double>(px[k]) - mean;
      ss += d * d;
    }
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
    for (std::int64_t k = 0; k < n; ++k) py[k] = static_cast<T>((static_cast<double>(px[k]) - mean) * inv);
    rstd[r] = static_cast<T>(inv);
  }
}

}  // namespace ag::kernels
