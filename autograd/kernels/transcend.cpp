// The selects below (small vs large argument, x < 0) become vector blends only when FP compares are
// not treated as trapping; results are unchanged (no FP exception is ever inspected).
#pragma GCC optimize("no-trapping-math")
// No FMA contraction (the AVX-512 clone could fuse, the others cannot): the same bits on every CPU.
#pragma GCC optimize("fp-contract=off")
// std::fma as a pure function (errno is never read), so that the loops calling it vectorise.
#pragma GCC optimize("no-math-errno")

#include "autograd/kernels/transcend.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "autograd/kernels/elementwise.h"

// The loops are compiled three times, for AVX-512 (8 doubles a vector: 2.0-2.7x AVX2's speed), AVX2
// (4) and the x86-64 baseline (2), and the CPU picks one at load time; all give the same bits.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__SANITIZE_THREAD__)
#define AG_TARGET_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
// the float exp loops: exp_fl's explicit fused multiply-adds are instructions from Haswell on (and a
// call to the exactly rounded fmaf on older CPUs: the same bits, slower)
#define AG_FMA_CLONES __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define AG_TARGET_CLONES
#define AG_FMA_CLONES
#endif

namespace ag::kernels {

namespace {

/// 1 / k!
constexpr double kInvFactorial[] = {1.0,
                                    1.0,
                                    1.0 / 2,
                                    1.0 / 6,
                                    1.0 / 24,
                                    1.0 / 120,
                                    1.0 / 720,
                                    1.0 / 5040,
                                    1.0 / 40320,
                                    1.0 / 362880,
                                    1.0 / 3628800,
                                    1.0 / 39916800,
                                    1.0 / 479001600,
                                    1.0 / 6227020800.0,
                                    1.0 / 87178291200.0,
                                    1.0 / 1307674368000.0,
                                    1.0 / 20922789888000.0,
                                    1.0 / 355687428096000.0,
                                    1.0 / 6402373705728000.0};

/// sum_{k=K..D} r^(k-K) / k!, in Horner form with fused multiply-adds (unrolled so that the loops
/// around it vectorize; std::fma is exactly rounded wherever it runs: the same bits on every CPU).
template <int D, int K>
inline double taylor(double r) {
  if constexpr (K == D) return kInvFactorial[D];
  else return std::fma(taylor<D, K + 1>(r), r, kInvFactorial[K]);
}

/// Argument reduction y = k ln2 + r (Cody-Waite: ln2 in two parts) for exp_d and expm1_d; adding
/// kShift = 1.5 * 2^52 rounds y log2(e) to the integer k, left in the low bits of the sum.
constexpr double kLog2e = 1.4426950408889634, kLn2 = 0.6931471805599453, kLn2Hi = 6.93147180369123816490e-01,
                 kLn2Lo = 1.90821492927058770002e-10, kShift = 6755399441055744.0;

/// k from t = k + kShift.
inline std::int64_t shifted_int(double t) {
  return static_cast<std::int64_t>(std::bit_cast<std::uint64_t>(t) - std::bit_cast<std::uint64_t>(kShift));
}

/// exp(y) for double y, with a Taylor polynomial of degree D on y - n ln2, |y - n ln2| <= ln2 / 2.
/// D = 13 is within 1 ulp in double; D = 8 (relative error < 1e-9) is enough for float results.
template <int D>
inline double exp_d(double y) {
  y = y < -1100.0 ? -1100.0 : y;
  y = y > 1100.0 ? 1100.0 : y;
  const double t = y * kLog2e + kShift;  // n in the low bits of t
  const double k = t - kShift;
  const double r = (y - k * kLn2Hi) - k * kLn2Lo;
  const double p = taylor<D, 0>(r);
  // 2^n as two factors 2^(n/2) 2^(n - n/2), so that subnormal results round once and overflow is inf.
  const std::int64_t n = shifted_int(t);
  const std::int64_t h = n >> 1;
  const double s1 = std::bit_cast<double>(static_cast<std::uint64_t>(h + 1023) << 52);
  const double s2 = std::bit_cast<double>(static_cast<std::uint64_t>(n - h + 1023) << 52);
  return p * s1 * s2;
}

/// e^y - 1 for double y in [0, 40]: y = k ln2 + r with k = 0 below ln2 (|r| < ln2, no cancellation
/// near 0) and |r| <= ln2 / 2 above, e^y - 1 = 2^k (e^r - 1) + (2^k - 1) with e^r - 1 = r + r^2 p(r), p
/// a Taylor polynomial of degree D - 2. For k >= 1 the two terms cancel little (k = 1 has r >= 0; for
/// k >= 2, |2^k (e^r - 1)| < 0.3 2^k < 2^k - 1). D = 17 is within a few ulp in double; D = 10
/// (relative error < 1e-9) is enough for float results.
template <int D>
inline double expm1_d(double y) {
  const bool low = y < kLn2;
  const double t = low ? kShift : y * kLog2e + kShift;  // k in the low bits of t
  const double k = t - kShift;
  const double r = (y - k * kLn2Hi) - k * kLn2Lo;
  const double q = r + r * (r * taylor<D, 2>(r));  // r added last: error relative to r^2 / 2
  const std::int64_t n = shifted_int(t);
  const double p2 = std::bit_cast<double>(static_cast<std::uint64_t>(n + 1023) << 52);
  return p2 * q + (p2 - 1.0);
}

/// tanh(x) for double x: (e^2|x| - 1) / (e^2|x| + 1) from one expm1 (|x| clamped at 20, where tanh
/// rounds to 1 in double); the sign is copied back.
template <int D>
inline double tanh_d(double x) {
  const double v = std::fabs(x);
  const double em1 = expm1_d<D>(2.0 * (v > 20.0 ? 20.0 : v));
  return std::copysign(em1 / (em1 + 2.0), x);
}

template <int D>
inline double sigmoid_d(double x) {
  const double e = exp_d<D>(-std::fabs(x));
  const double s = 1.0 / (1.0 + e);
  const double es = e * s;
  return x < 0 ? es : s;
}

/// Float constants of exp_fl: ln2 = kLn2HiF + kLn2LoF with kLn2HiF's 15 significant bits (k kLn2HiF is
/// exact for |k| < 512); kShiftF = 1.5 * 2^23 rounds to an integer left in the low bits of the sum.
constexpr float kLog2eF = 1.44269504088896341f, kLn2HiF = 0.693145751953125f, kLn2LoF = 1.428606765330187045e-06f,
                kShiftF = 12582912.0f;

/// exp(x) for float x in float arithmetic (16 lanes a vector with AVX-512, 2.5x the double path's
/// speed): x = k ln2 + r (Cody-Waite, |r| <= ln2 / 2 + tiny, x - k kLn2HiF exact), e^r = 1 + (r + r^2 P(r))
/// with P the Taylor polynomial of degree 5 of (e^r - 1 - r) / r^2 (truncation < 0.1 ulp), then 2^k as
/// two factors as in exp_d. Written with explicit fused multiply-adds (std::fma is exactly rounded
/// wherever it runs: the same bits on every CPU; 28 vector instructions per 16 values instead of 40).
/// Within 1 ulp of the rounded exact value on every float in [-104, 89] (checked exhaustively).
inline float exp_fl(float x) {
  x = x < -104.0f ? -104.0f : x;  // exp rounds to 0 below, to inf above 89; NaN passes through
  x = x > 89.0f ? 89.0f : x;
  const float t = std::fma(x, kLog2eF, kShiftF);
  const float k = t - kShiftF;
  const float r = std::fma(-k, kLn2LoF, std::fma(-k, kLn2HiF, x));
  float p = static_cast<float>(kInvFactorial[7]);  // (unrolled by hand: a loop here kept GCC from vectorising)
  p = std::fma(p, r, static_cast<float>(kInvFactorial[6]));
  p = std::fma(p, r, static_cast<float>(kInvFactorial[5]));
  p = std::fma(p, r, static_cast<float>(kInvFactorial[4]));
  p = std::fma(p, r, static_cast<float>(kInvFactorial[3]));
  p = std::fma(p, r, 0.5f);
  const float e = 1.0f + std::fma(r * r, p, r);
  const auto n = static_cast<std::int32_t>(std::bit_cast<std::uint32_t>(t) - std::bit_cast<std::uint32_t>(kShiftF));
  const std::int32_t h = n >> 1;
  const float s1 = std::bit_cast<float>(static_cast<std::uint32_t>(h + 127) << 23);
  const float s2 = std::bit_cast<float>(static_cast<std::uint32_t>(n - h + 127) << 23);
  return e * s1 * s2;
}

AG_FMA_CLONES void exp_f(const float* __restrict x, float* __restrict y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = exp_fl(x[i]);
}
AG_FMA_CLONES void exp_dbl(const double* __restrict x, double* __restrict y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = exp_d<13>(x[i]);
}
AG_FMA_CLONES void tanh_f(const float* __restrict x, float* __restrict y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(tanh_d<10>(x[i]));
}
AG_FMA_CLONES void tanh_dbl(const double* __restrict x, double* __restrict y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = tanh_d<17>(x[i]);
}
AG_FMA_CLONES void sigmoid_f(const float* __restrict x, float* __restrict y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(sigmoid_d<8>(x[i]));
}
AG_FMA_CLONES void sigmoid_dbl(const double* __restrict x, double* __restrict y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = sigmoid_d<13>(x[i]);
}

/// exp of a float or a double, as kernels::exp computes it.
inline float exp_any(float x) { return exp_fl(x); }
inline double exp_any(double x) { return exp_d<13>(x); }

/// Lanes of sum_exp's accumulators: a fixed summation order whatever the vector width.
constexpr int kSumLanes = 16;

template <class T>
inline T sum_exp_impl(const T* __restrict x, T shift, std::int64_t n, const T* next) {
  T s[kSumLanes] = {};
  std::int64_t i = 0;
  // one prefetch per 64-byte line of `next` (x itself without one: a line being read anyway)
  const char* pf = reinterpret_cast<const char*>(next ? next : x);
  constexpr std::int64_t kLine = 64 / sizeof(T);
  for (; i + kSumLanes <= n; i += kSumLanes) {
    for (std::int64_t l = 0; l < kSumLanes; l += kLine) __builtin_prefetch(pf + (i + l) * sizeof(T), 0, 3);
    for (int j = 0; j < kSumLanes; ++j) s[j] += exp_any(x[i + j] - shift);
  }
  for (; i < n; ++i) s[0] += exp_any(x[i] - shift);
  for (int w = kSumLanes / 2; w > 0; w /= 2)
    for (int j = 0; j < w; ++j) s[j] += s[j + w];
  return s[0];
}
AG_FMA_CLONES float sum_exp_f(const float* __restrict x, float shift, std::int64_t n, const float* next) {
  return sum_exp_impl(x, shift, n, next);
}
AG_FMA_CLONES double sum_exp_dbl(const double* __restrict x, double shift, std::int64_t n, const double* next) {
  return sum_exp_impl(x, shift, n, next);
}

// Written on GCC vector types: the plain 16-lane loop stays scalar at -O3 (the inner loop is unrolled
// before the vectoriser sees it), and this is a memory-bound pass over a 10000-wide row.
template <class T>
inline T row_max_impl(const T* __restrict x, std::int64_t n) {
  constexpr int kW = 32 / sizeof(T), kV = kSumLanes / kW;  // 16 lanes as kV vectors of 32 bytes
  typedef T V __attribute__((vector_size(32)));
  V m[kV];
  for (int v = 0; v < kV; ++v)
    for (int j = 0; j < kW; ++j) m[v][j] = -std::numeric_limits<T>::infinity();
  std::int64_t i = 0;
  for (; i + kSumLanes <= n; i += kSumLanes)
    for (int v = 0; v < kV; ++v) {
      V e;
      std::memcpy(&e, x + i + v * kW, sizeof e);
      m[v] = e > m[v] ? e : m[v];
    }
  T r = -std::numeric_limits<T>::infinity();
  for (int v = 0; v < kV; ++v)
    for (int j = 0; j < kW; ++j) r = m[v][j] > r ? m[v][j] : r;
  for (; i < n; ++i) r = x[i] > r ? x[i] : r;
  return r;
}
AG_TARGET_CLONES float row_max_f(const float* __restrict x, std::int64_t n) { return row_max_impl(x, n); }
AG_TARGET_CLONES double row_max_dbl(const double* __restrict x, std::int64_t n) { return row_max_impl(x, n); }

template <class T>
inline void exp_affine_impl(const T* __restrict x, T a, T b, T c, T* __restrict y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = exp_any((x[i] - a) - b) * c;
}
AG_FMA_CLONES void exp_affine_f(const float* __restrict x, float a, float b, float c, float* __restrict y,
                                std::int64_t n) {
  exp_affine_impl(x, a, b, c, y, n);
}
AG_FMA_CLONES void exp_affine_dbl(const double* __restrict x, double a, double b, double c, double* __restrict y,
                                  std::int64_t n) {
  exp_affine_impl(x, a, b, c, y, n);
}

template <class T, class Loop>
void run(const T* x, T* y, std::int64_t n, Loop loop) {
  parallel_for(0, n, kGrainHeavy, [&](std::int64_t b, std::int64_t e) { loop(x + b, y + b, e - b); });
}

}  // namespace

void exp(const float* x, float* y, std::int64_t n) { run(x, y, n, exp_f); }
void exp(const double* x, double* y, std::int64_t n) { run(x, y, n, exp_dbl); }
void tanh(const float* x, float* y, std::int64_t n) { run(x, y, n, tanh_f); }
void tanh(const double* x, double* y, std::int64_t n) { run(x, y, n, tanh_dbl); }
void sigmoid(const float* x, float* y, std::int64_t n) { run(x, y, n, sigmoid_f); }
void sigmoid(const double* x, double* y, std::int64_t n) { run(x, y, n, sigmoid_dbl); }

float sum_exp(const float* x, float shift, std::int64_t n, const float* next) { return sum_exp_f(x, shift, n, next); }
double sum_exp(const double* x, double shift, std::int64_t n, const double* next) {
  return sum_exp_dbl(x, shift, n, next);
}
float row_max(const float* x, std::int64_t n) { return row_max_f(x, n); }
double row_max(const double* x, std::int64_t n) { return row_max_dbl(x, n); }
void exp_affine(const float* x, float a, float b, float c, float* y, std::int64_t n) { exp_affine_f(x, a, b, c, y, n); }
void exp_affine(const double* x, double a, double b, double c, double* y, std::int64_t n) {
  exp_affine_dbl(x, a, b, c, y, n);
}

}  // namespace ag::kernels
