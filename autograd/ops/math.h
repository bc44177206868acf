#pragma once
/// @file ops/math.h
/// libtorch's pointwise and binary math set, the small matrix products (bmm, addmm, outer, dot) and
/// the variance reductions. Floating tensors only (float32, float64): an int64 input is an ag::Error
/// naming the op. Binary ops broadcast as NumPy and refuse mixed dtypes (there is no promotion);
/// the gradient of a broadcast input is summed back to its shape. Each line gives the derivative;
/// every VJP is written with differentiable ops, so second derivatives work.

#include <concepts>
#include <cstdint>
#include <optional>

#include "autograd/tensor.h"

namespace ag {

// ---- trigonometric and hyperbolic ----------------------------------------------------------------

/// sin x;  d/dx = cos x
Tensor sin(const Tensor& x);
/// cos x;  d/dx = -sin x
Tensor cos(const Tensor& x);
/// tan x;  d/dx = 1 + y^2 (uses the saved output)
Tensor tan(const Tensor& x);
/// asin x (NaN outside [-1, 1]);  d/dx = 1/sqrt(1 - x^2)
Tensor asin(const Tensor& x);
/// acos x (NaN outside [-1, 1]);  d/dx = -1/sqrt(1 - x^2)
Tensor acos(const Tensor& x);
/// atan x;  d/dx = 1/(1 + x^2)
Tensor atan(const Tensor& x);
/// atan2(a, b), the angle of (b, a), broadcasting;  d/da = b/(a^2 + b^2), d/db = -a/(a^2 + b^2)
Tensor atan2(const Tensor& a, const Tensor& b);
/// sinh x;  d/dx = cosh x
Tensor sinh(const Tensor& x);
/// cosh x;  d/dx = sinh x
Tensor cosh(const Tensor& x);

// ---- exponential, logarithmic, powers -------------------------------------------------------------

/// The error function;  d/dx = 2/sqrt(pi) e^(-x^2)
Tensor erf(const Tensor& x);
/// ln(1 + x), accurate for small x;  d/dx = 1/(1 + x)
Tensor log1p(const Tensor& x);
/// e^x - 1, accurate for small x;  d/dx = y + 1 (uses the saved output)
Tensor expm1(const Tensor& x);
/// log base 2;  d/dx = 1/(x ln 2)
Tensor log2(const Tensor& x);
/// log base 10;  d/dx = 1/(x ln 10)
Tensor log10(const Tensor& x);
/// 1/sqrt x;  d/dx = -y^3/2 (uses the saved output)
Tensor rsqrt(const Tensor& x);
/// 1/x;  d/dx = -y^2 (uses the saved output)
Tensor reciprocal(const Tensor& x);

// ---- rounding and sign: piecewise constant, gradient 0 (frac: 1) ---------------------------------

/// -1, 0 or 1 (0 for 0, -0 and NaN, as PyTorch 1.13's CPU kernel);  d/dx = 0
Tensor sign(const Tensor& x);
/// Largest integer <= x;  d/dx = 0
Tensor floor(const Tensor& x);
/// Smallest integer >= x;  d/dx = 0
Tensor ceil(const Tensor& x);
/// Nearest integer, halves to even (round(2.5) = 2, as torch.round);  d/dx = 0
Tensor round(const Tensor& x);
/// Rounds to `decimals` decimal digits (negative: to tens, hundreds...), halves to even, computed as
/// torch: nearbyint(x * 10^d) / 10^d, or nearbyint(x / 10^-d) * 10^-d when d < 0;  d/dx = 0
Tensor round(const Tensor& x, std::int64_t decimals);
/// Integer part, toward zero;  d/dx = 0
Tensor trunc(const Tensor& x);
/// x - trunc(x) (keeps the sign of x);  d/dx = 1
Tensor frac(const Tensor& x);

// ---- division remainders ----------------------------------------------------------------------------

/// C's fmod: a - trunc(a/b) b, the sign of the dividend a (NaN when b = 0), broadcasting;
/// d/da = 1, d/db = -trunc(a/b)
Tensor fmod(const Tensor& a, const Tensor& b);
Tensor fmod(const Tensor& a, double b);
/// Python's %: a - floor(a/b) b, the sign of the divisor b (NaN when b = 0), broadcasting;
/// d/da = 1, d/db = -floor(a/b)
Tensor remainder(const Tensor& a, const Tensor& b);
Tensor remainder(const Tensor& a, double b);

// ---- elementwise extremes and interpolation ----------------------------------------------------------

/// Elementwise max, broadcasting; NaN if either is NaN. As PyTorch, the gradient goes to the larger
/// input, is split in halves on a tie, and goes to both inputs where one is NaN.
Tensor maximum(const Tensor& a, const Tensor& b);
/// Elementwise min, broadcasting; NaN if either is NaN. Gradient as maximum's, to the smaller input.
Tensor minimum(const Tensor& a, const Tensor& b);
/// start + weight (end - start), broadcasting all three (computed as torch: end - (end - start)(1 - weight)
/// when |weight| >= 0.5);  d/dstart = 1 - weight, d/dend = weight, d/dweight = end - start
Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight);
Tensor lerp(const Tensor& start, const Tensor& end, double weight);
/// self + value t1 t2, broadcasting all three;  d/dself = 1, d/dt1 = value t2, d/dt2 = value t1
Tensor addcmul(const Tensor& self, const Tensor& tensor1, const Tensor& tensor2, double value = 1.0);
/// self + value t1 / t2, broadcasting all three;  d/dself = 1, d/dt1 = value/t2, d/dt2 = -value t1/t2^2
Tensor addcdiv(const Tensor& self, const Tensor& tensor1, const Tensor& tensor2, double value = 1.0);

// ---- small matrix products (mm is in ops/linalg.h) ---------------------------------------------------

/// Batched product of [b, n, k] and [b, k, m] (same b, no broadcasting, as torch::bmm) -> [b, n, m];
/// dA = G B^T, dB = A^T G per batch.
Tensor bmm(const Tensor& a, const Tensor& b);
/// beta self + alpha (mat1 @ mat2), self broadcasting to [n, m]; with beta = 0 self is ignored
/// (NaN in it does not propagate), as torch::addmm;
/// d/dself = beta G (summed back), d/dmat1 = alpha G mat2^T, d/dmat2 = alpha mat1^T G
Tensor addmm(const Tensor& self, const Tensor& mat1, const Tensor& mat2, double beta = 1.0, double alpha = 1.0);
/// Outer product of two 1-D tensors: [n] x [m] -> [n, m];  d/da = G b, d/db = G^T a
Tensor outer(const Tensor& a, const Tensor& b);
/// Inner product of two 1-D tensors of one size (0-d result);  d/da = g b, d/db = g a
Tensor dot(const Tensor& a, const Tensor& b);

// ---- variance and standard deviation --------------------------------------------------------------------

/// Variance over `dim` (nullopt: all elements) dividing by N - correction (nullopt: 1), as
/// torch::var(x, dim, correction, keepdim); NaN (or inf) when N <= correction, as torch.
/// d/dx = 2 (x - mean) / (N - correction)
Tensor var(const Tensor& x, std::optional<std::int64_t> dim, std::optional<double> correction, bool keepdim = false);
/// Variance of all elements, with Bessel's correction unless !unbiased. Only a bool selects this
/// overload: var(x, 1) is the variance over dim 1 (libtorch, whose dims are an IntArrayRef, would
/// read the 1 as `unbiased`).
template <std::same_as<bool> B = bool>
Tensor var(const Tensor& x, B unbiased = true) {
  return var(x, std::nullopt, std::optional<double>(unbiased ? 1.0 : 0.0), false);
}
/// Variance over `dim`.
Tensor var(const Tensor& x, std::int64_t dim, bool unbiased = true, bool keepdim = false);
/// Pass the correction as a std::optional: a plain number would pick the `unbiased` overload (it does
/// in libtorch); a floating one is refused at compile time.
template <std::floating_point F>
Tensor var(const Tensor& x, std::int64_t dim, F correction, bool keepdim = false) = delete;

/// sqrt(var(...)), the same overloads;  d/dx = (x - mean) / ((N - correction) y), 0 where y = 0 (as torch)
Tensor std(const Tensor& x, std::optional<std::int64_t> dim, std::optional<double> correction, bool keepdim = false);
template <std::same_as<bool> B = bool>
Tensor std(const Tensor& x, B unbiased = true) {
  return std(x, std::nullopt, std::optional<double>(unbiased ? 1.0 : 0.0), false);
}
Tensor std(const Tensor& x, std::int64_t dim, bool unbiased = true, bool keepdim = false);
template <std::floating_point F>
Tensor std(const Tensor& x, std::int64_t dim, F correction, bool keepdim = false) = delete;

}  // namespace ag
