#include "autograd/kernels/small_gemm.h"

#include "autograd/kernels/blas.h"
#include "autograd/parallel.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <xmmintrin.h>

#ifdef AG_HAVE_LIBXSMM
#include <libxsmm.h>
#endif

namespace ag::kernels {

namespace {
thread_local std::uint64_t t_calls = 0;
std::atomic<bool> g_enabled{true};

/// dst[c, r] = src[r, c], or += when Accumulate, in 32 x 32 tiles.
template <bool Accumulate = false, class T>
void transpose_impl(const T* src, T* dst, std::int64_t rows, std::int64_t cols) {
  if (!Accumulate && (rows == 1 || cols == 1)) {
    std::memcpy(dst, src, static_cast<std::size_t>(rows * cols) * sizeof(T));
    return;
  }
  constexpr std::int64_t kTile = 32;
  for (std::int64_t i0 = 0; i0 < rows; i0 += kTile) {
    const std::int64_t i1 = std::min(rows, i0 + kTile);
    for (std::int64_t j0 = 0; j0 < cols; j0 += kTile) {
      const std::int64_t j1 = std::min(cols, j0 + kTile);
      for (std::int64_t i = i0; i < i1; ++i)
        for (std::int64_t j = j0; j < j1; ++j) {
          if constexpr (Accumulate) dst[j * rows + i] += src[i * cols + j];
          else dst[j * rows + i] = src[i * cols + j];
        }
    }
  }
}

/// transpose (or, when Accumulate, dst[c, r] += src[r, c]) for float: 4x4 blocks through SSE registers
/// (3-4x the scalar loop's speed, and dst's rows are not walked down a column with a stride of `rows`),
/// then the ragged edges.
template <bool Accumulate>
void transpose_sse(const float* src, float* dst, std::int64_t rows, std::int64_t cols) {
  if (rows < 4 || cols < 4) return transpose_impl<Accumulate>(src, dst, rows, cols);
  const std::int64_t r4 = rows & ~std::int64_t{3}, c4 = cols & ~std::int64_t{3};
  auto put = [dst](std::int64_t at, __m128 v) {
    if constexpr (Accumulate) v = _mm_add_ps(_mm_loadu_ps(dst + at), v);
    _mm_storeu_ps(dst + at, v);
  };
  for (std::int64_t i = 0; i < r4; i += 4) {
    for (std::int64_t j = 0; j < c4; j += 4) {
      __m128 x0 = _mm_loadu_ps(src + i * cols + j), x1 = _mm_loadu_ps(src + (i + 1) * cols + j),
             x2 = _mm_loadu_ps(src + (i + 2) * cols + j), x3 = _mm_loadu_ps(src + (i + 3) * cols + j);
      _MM_TRANSPOSE4_PS(x0, x1, x2, x3);
      put(j * rows + i, x0);
      put((j + 1) * rows + i, x1);
      put((j + 2) * rows + i, x2);
      put((j + 3) * rows + i, x3);
    }
    for (std::int64_t ii = i; ii < i + 4; ++ii)
      for (std::int64_t j = c4; j < cols; ++j) {
        if constexpr (Accumulate) dst[j * rows + ii] += src[ii * cols + j];
        else dst[j * rows + ii] = src[ii * cols + j];
      }
  }
  for (std::int64_t i = r4; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) {
      if constexpr (Accumulate) dst[j * rows + i] += src[i * cols + j];
      else dst[j * rows + i] = src[i * cols + j];
    }
}
}  // namespace

void transpose(const float* src, float* dst, std::int64_t rows, std::int64_t cols) {
  transpose_sse<false>(src, dst, rows, cols);
}
void transpose(const double* src, double* dst, std::int64_t rows, std::int64_t cols) {
  transpose_impl(src, dst, rows, cols);
}

std::uint64_t small_gemm_calls() { return t_calls; }

bool set_small_gemm_enabled(bool on) { return g_enabled.exchange(on); }

#ifndef AG_HAVE_LIBXSMM

bool small_gemm_available() { return false; }
bool small_gemm(bool, bool, std::int64_t, std::int64_t, std::int64_t, const float*, const float*, float*, float) {
  return false;
}
bool small_gemm(bool, bool, std::int64_t, std::int64_t, std::int64_t, const double*, const double*, double*, double) {
  return false;
}

#else

bool small_gemm_available() { return true; }

namespace {
template <class T>
using Kernel = void (*)(const T*, const T*, T*);

/// Per-thread direct-mapped cache of JIT kernels, so that a steady loop never takes libxsmm's lock.
struct CacheEntry {
  std::uint64_t k1 = ~std::uint64_t{0}, k2 = ~std::uint64_t{0}, k3 = ~std::uint64_t{0};
  void* fn = nullptr;
};
thread_local CacheEntry t_cache[64];

/// Column-major C[M,N] = A[M,K] op(B) + beta C with leading dimensions M, ldb, M; nullptr when
/// libxsmm has no kernel for it.
template <class T>
Kernel<T> kernel(std::int64_t mm, std::int64_t nn, std::int64_t kk, bool trans_b, std::int64_t ld_b, bool beta1) {
  static const bool initialised = (libxsmm_init(), true);
  (void)initialised;
  const std::uint64_t k1 = static_cast<std::uint64_t>(mm) | (static_cast<std::uint64_t>(nn) << 32);
  const std::uint64_t k2 = static_cast<std::uint64_t>(kk) | (std::uint64_t{trans_b} << 32) |
                           (std::uint64_t{beta1} << 33) | (std::uint64_t{sizeof(T) == 8} << 34);
  const auto k3 = static_cast<std::uint64_t>(ld_b);
  CacheEntry& e = t_cache[(k1 * 0x9E3779B97F4A7C15ull ^ k2 * 0xC2B2AE3D27D4EB4Full ^ k3) >> 58];
  if (e.k1 == k1 && e.k2 == k2 && e.k3 == k3) return reinterpret_cast<Kernel<T> >(e.fn);
  const auto m = static_cast<libxsmm_blasint>(mm), n = static_cast<libxsmm_blasint>(nn),
             k = static_cast<libxsmm_blasint>(kk);
  const libxsmm_blasint lda = m, ldb = static_cast<libxsmm_blasint>(ld_b), ldc = m;
  const int flags = trans_b ? LIBXSMM_GEMM_FLAG_TRANS_B : LIBXSMM_GEMM_FLAG_NONE;
  const T alpha = 1, beta = beta1 ? 1 : 0;
  void* fn;
  if constexpr (sizeof(T) == 4)
    fn = reinterpret_cast<void*>(libxsmm_smmdispatch(m, n, k, &lda, &ldb, &ldc, &alpha, &beta, &flags, nullptr));
  else fn = reinterpret_cast<void*>(libxsmm_dmmdispatch(m, n, k, &lda, &ldb, &ldc, &alpha, &beta, &flags, nullptr));
  e = CacheEntry{k1, k2, k3, fn};
  return reinterpret_cast<Kernel<T> >(fn);
}

/// libxsmm's AVX-512 kernels return with the upper halves of the vector registers dirty; until a
/// vzeroupper, every legacy-SSE instruction after them (the rest of this x86-64 baseline build, libm)
/// pays a merge penalty: the MLP 64-128-128-10 step measured 1.8x slower without this.
inline void clear_upper_state() {
  static const bool avx = __builtin_cpu_supports("avx");
  if (avx) asm volatile("vzeroupper" ::: "memory");
}

/// A row-major product C[m,n] = op(A)[m,k] B[k,n] + beta C that one JIT kernel computes:
/// column-major C^T = B^T op(A)^T, where row-major A stored [k,m] (ta) is column-major's trans_b.
/// With lda_ta, the rows [i, i + m) of a product whose A^T has lda_ta columns.
template <class T>
struct RowMajor {
  Kernel<T> fn = nullptr;
  bool prepare(bool ta, std::int64_t m, std::int64_t n, std::int64_t k, bool beta1, std::int64_t lda_ta = 0) {
    fn = kernel<T>(n, m, k, ta, ta ? (lda_ta > 0 ? lda_ta : m) : k, beta1);
    return fn != nullptr;
  }
  void run(const T* a, const T* b, T* c) const {
    fn(b, a, c);
    clear_upper_state();
  }
};

template <class T>
std::vector<T>& scratch(int i) {
  thread_local std::vector<T> buffers[2];
  return buffers[i];
}

template <class T>
T* scratch_data(int i, std::int64_t n) {
  auto& v = scratch<T>(i);
  if (v.size() < static_cast<std::size_t>(n)) v.resize(static_cast<std::size_t>(n));
  return v.data();
}

/// c[i, j] = e[j, i] (+ c[i, j] when beta1) for row-major c [m, n] and e [n, m].
template <class T>
void store_transposed(const T* e, T* c, std::int64_t m, std::int64_t n, bool beta1) {
  if constexpr (sizeof(T) == 4) {
    if (beta1) transpose_sse<true>(e, c, n, m);
    else transpose_sse<false>(e, c, n, m);
  } else {
    if (beta1) transpose_impl<true>(e, c, n, m);
    else transpose(e, c, n, m);
  }
}

template <class T>
bool run_gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const T* a, const T* b, T* c, T beta) {
  if (m <= 0 || n <= 0 || k <= 0) return false;
  const bool small =
      m <= kSmallGemmMaxWork && n <= kSmallGemmMaxWork && m * n <= kSmallGemmMaxWork && m * n * k <= kSmallGemmMaxWork;
  if (!small && (tb || k * n * static_cast<std::int64_t>(sizeof(T)) > kSmallGemmPanelBytes)) return false;
  if (beta != T(0) && beta != T(1)) return false;
  const bool beta1 = beta == T(1);
  const int threads = get_num_threads();
  if (!(ta && tb) && m > 1 && m * n * k >= kParallelGemmWork && threads > 1 && !in_parallel_region()) {
    // rows of C split between the threads, with A's rows (or, when ta, its columns): a block of rows
    // is a product of the same form, except that A^T's block keeps A^T's row length m
    parallel_for(0, m, (m + threads - 1) / threads, [&](std::int64_t i0, std::int64_t i1) {
      RowMajor<T> part;
      const bool done = ta ? part.prepare(true, i1 - i0, n, k, beta1, m)
                           : run_gemm(false, tb, i1 - i0, n, k, a + i0 * k, b, c + i0 * n, beta);
      if (!done) throw std::logic_error("libxsmm: no kernel for a row block");
      if (ta) part.run(a + i0, b, c + i0 * n);
    });
    return true;
  }
  RowMajor<T> g;
  if (!tb) {
    if (!g.prepare(ta, m, n, k, beta1)) return false;
    g.run(a, b, c);
  } else if (m == 1) {
    // [1,k] and [k,1] share a layout, as do [1,n] and [n,1]: C^T = B op(A)^T with no copy.
    if (!g.prepare(false, n, 1, k, beta1)) return false;
    g.run(b, a, c);
  } else if (ta ? m * n < n * k : m * (k + n) < n * k) {
    // C = (B op(A)^T)^T: E[n,m] = B[n,k] op(A)^T[k,m], with A transposed first unless ta.
    if (!g.prepare(false, n, m, k, false)) return false;
    const T* at = a;
    if (!ta) {
      T* buf = scratch_data<T>(0, m * k);
      transpose(a, buf, m, k);
      at = buf;
    }
    T* e = scratch_data<T>(1, m * n);
    g.run(b, at, e);
    store_transposed(e, c, m, n, beta1);
  } else {
    // C = op(A) (B^T) with B^T materialised [k,n].
    if (!g.prepare(ta, m, n, k, beta1)) return false;
    T* bt = scratch_data<T>(0, n * k);
    transpose(b, bt, n, k);
    g.run(a, bt, c);
  }
  return true;
}

template <class T>
bool small_gemm_impl(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const T* a, const T* b, T* c,
                     T beta) {
  if (!g_enabled.load(std::memory_order_relaxed) || !run_gemm(ta, tb, m, n, k, a, b, c, beta)) return false;
  ++t_calls;
  return true;
}
}  // namespace

bool small_gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b,
                float* c, float beta) {
  return small_gemm_impl(ta, tb, m, n, k, a, b, c, beta);
}
bool small_gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const double* a, const double* b,
                double* c, double beta) {
  return small_gemm_impl(ta, tb, m, n, k, a, b, c, beta);
}

#endif

}  // namespace ag::kernels
