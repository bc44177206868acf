#pragma once
/// @file kernels/reduce.h
/// Reductions over one dim of a contiguous buffer viewed as [outer, n, inner].

#include <algorithm>
#include <cstdint>
#include <vector>

#include "autograd/kernels/add_into.h"
#include "autograd/kernels/elementwise.h"

namespace ag::kernels {

/// y[o, i] = sum_k x[o, k, i], adding k in order. Threads split o (or i when o is short); each
/// output adds its terms in the same order for any thread count.
template <class T>
inline void sum_dim(const T* x, T* y, std::int64_t outer, std::int64_t n, std::int64_t inner) {
  // Columns are split from 2^20 terms: below, the hand-over to a sleeping worker cost more than half
  // the sum (an RNN's bias gradient, [800, 128], made the 2-thread step 3% slower than 1 thread's).
  constexpr std::int64_t kSplitColumns = std::int64_t{1} << 20;
  auto part = [&](std::int64_t o0, std::int64_t o1, std::int64_t i0, std::int64_t i1) {
    for (std::int64_t o = o0; o < o1; ++o) {
      T* py = y + o * inner;
      for (std::int64_t i = i0; i < i1; ++i) py[i] = T(0);
      const T* px = x + o * n * inner;
      if (inner == 1) {
        T acc = T(0);
        for (std::int64_t k = 0; k < n; ++k) acc += px[k];
        py[0] = acc;
      } else {
        if (i1 - i0 >= 64)  // long rows: the vector kernel, worth its call
          for (std::int64_t k = 0; k < n; ++k) add_into(py + i0, px + k * inner + i0, i1 - i0);
        else
          for (std::int64_t k = 0; k < n; ++k)
            for (std::int64_t i = i0; i < i1; ++i) py[i] += px[k * inner + i];
      }
    }
  };
  const std::int64_t total = outer * n * inner;
  if (total > kGrain && n > 0 && (outer >= 8 || (outer > 1 && inner < 256)))
    parallel_for(0, outer, std::max<std::int64_t>(kGrain / (n * inner), 1),
                 [&](std::int64_t b, std::int64_t e) { part(b, e, 0, inner); });
  else if (total > kSplitColumns && n > 0 && inner > 1)
    parallel_for(0, inner, std::max<std::int64_t>(kGrain / (n * outer), 1),
                 [&](std::int64_t b, std::int64_t e) { part(0, outer, b, e); });
  else part(0, outer, 0, inner);
}

/// Sum of n elements by pairwise halving down to blocks of 256 (accurate for long float32 sums).
template <class T>
inline T sum_pairwise(const T* x, std::int64_t n) {
  if (n <= 256) {
    T acc = T(0);
    for (std::int64_t i = 0; i < n; ++i) acc += x[i];
    return acc;
  }
  const std::int64_t h = n / 2;
  return sum_pairwise(x, h) + sum_pairwise(x + h, n - h);
}

/// Sum of all n elements: sum_pairwise, with the 16 subtrees four levels down summed in parallel
/// when n is large, so the result is bitwise the same for any thread count.
template <class T>
inline T sum_all(const T* x, std::int64_t n) {
  if (n <= kGrain) return sum_pairwise(x, n);
  constexpr int kDepth = 4, kParts = 1 << kDepth;
  T part[kParts];
  parallel_for(0, kParts, 1, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t p = b; p < e; ++p) {
      std::int64_t off = 0, len = n;
      for (int level = kDepth - 1; level >= 0; --level) {
        const std::int64_t h = len / 2;
        if ((p >> level) & 1) {
          off += h;
          len -= h;
        } else {
          len = h;
        }
      }
      part[p] = sum_pairwise(x + off, len);
    }
  });
  for (int width = kParts / 2; width >= 1; width /= 2)
    for (int i = 0; i < width; ++i) part[i] = part[2 * i] + part[2 * i + 1];
  return part[0];
}

}  // namespace ag::kernels

namespace ag::kernels {

/// True when `a` should replace the running extreme `b`: a > b for Max (a < b for min), and a
/// NaN beats any number, so that NaN propagates as in libtorch.
template <bool Max, class T>
inline bool beats(T a, T b) {
  if (a != a) return b == b;
  return Max ? a > b : a < b;
}

/// y[o, i] = max_k x[o, k, i] (min unless Max) and idx[o, i] = the first such k (idx may be null). n >= 1.
template <bool Max, class T>
inline void extreme_dim(const T* x, T* y, std::int64_t* idx, std::int64_t outer, std::int64_t n, std::int64_t inner) {
  for (std::int64_t o = 0; o < outer; ++o) {
    const T* px = x + o * n * inner;
    T* py = y + o * inner;
    std::int64_t* pi = idx ? idx + o * inner : nullptr;
    if (inner == 1) {
      T best = px[0];
      std::int64_t at = 0;
      for (std::int64_t k = 1; k < n; ++k)
        if (beats<Max>(px[k], best)) {
          best = px[k];
          at = k;
        }
      py[0] = best;
      if (pi) pi[0] = at;
      continue;
    }
    for (std::int64_t i = 0; i < inner; ++i) py[i] = px[i];
    if (pi)
      for (std::int64_t i = 0; i < inner; ++i) pi[i] = 0;
    for (std::int64_t k = 1; k < n; ++k) {
      const T* row = px + k * inner;
      for (std::int64_t i = 0; i < inner; ++i)
        if (beats<Max>(row[i], py[i])) {
          py[i] = row[i];
          if (pi) pi[i] = k;
        }
    }
  }
}

/// The max (min unless Max) of all n >= 1 elements.
template <bool Max, class T>
inline T extreme_all(const T* x, std::int64_t n) {
  T best = x[0];
  for (std::int64_t k = 1; k < n; ++k)
    if (beats<Max>(x[k], best)) best = x[k];
  return best;
}

/// m[o, k, i] = 1 / c where x[o, k, i] equals the extreme y[o, i] (NaN matching NaN when nan_ties)
/// and c counts those k, else 0: the even split of a gradient between ties. Without nan_ties a NaN
/// extreme has no tie, so c = 0 and its whole row is 0/0 = NaN (torch.amax's gradient).
template <class T>
inline void tie_mask(const T* x, const T* y, T* m, std::int64_t outer, std::int64_t n, std::int64_t inner,
                     bool nan_ties = true) {
  std::vector<std::int64_t> count(static_cast<std::size_t>(inner));
  for (std::int64_t o = 0; o < outer; ++o) {
    const T* px = x + o * n * inner;
    const T* py = y + o * inner;
    T* pm = m + o * n * inner;
    for (auto& c : count) c = 0;
    for (std::int64_t k = 0; k < n; ++k)
      for (std::int64_t i = 0; i < inner; ++i) {
        const T v = px[k * inner + i], e = py[i];
        const bool tie = v == e || (nan_ties && v != v && e != e);
        pm[k * inner + i] = tie ? T(1) : T(0);
        count[static_cast<std::size_t>(i)] += tie;
      }
    for (std::int64_t k = 0; k < n; ++k)
      for (std::int64_t i = 0; i < inner; ++i) pm[k * inner + i] /= static_cast<T>(count[static_cast<std::size_t>(i)]);
  }
}

/// m[o, k, i] = 1 if idx[o, i] == k else 0.
template <class T>
inline void one_hot_dim(const std::int64_t* idx, T* m, std::int64_t outer, std::int64_t n, std::int64_t inner) {
  for (std::int64_t o = 0; o < outer; ++o) {
    const std::int64_t* pi = idx + o * inner;
    T* pm = m + o * n * inner;
    for (std::int64_t k = 0; k < n; ++k)
      for (std::int64_t i = 0; i < inner; ++i) pm[k * inner + i] = pi[i] == k ? T(1) : T(0);
  }
}

}  // namespace ag::kernels
