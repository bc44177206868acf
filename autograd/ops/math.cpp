#include "autograd/ops/math.h"

#include <cmath>
#include <limits>
#include <numbers>

#include "autograd/factory.h"
#include "autograd/forward_grad.h"
#include "autograd/grad_mode.h"
#include "autograd/ops/arith.h"
#include "autograd/ops/compare.h"
#include "autograd/ops/linalg.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/ops/unary.h"
#include "autograd/ops/util.h"
#include "autograd/tape.h"

namespace ag {

using detail::map_floating;
using detail::tangent_add;
using detail::tangent_to;
using detail::zip_floating;

namespace {

void check_floating(const Tensor& x, const char* op) {
  if (!is_floating(x.checked(op).dtype))
    fail("{}: expected a floating tensor (float32 or float64), got {}", op, describe(x));
}

/// The gradient of a piecewise-constant op: zeros (as PyTorch's zeros_like(grad)).
Tensor zero_grad(const Tensor& g) { return zeros_like(g); }

/// y = f(a, b, c) elementwise, the three broadcast together (one dtype, floating).
template <class F>
Tensor zip3_floating(const Tensor& a, const Tensor& b, const Tensor& c, const char* op, F f) {
  detail::check_same_dtype(a, b, op);
  detail::check_same_dtype(a, c, op);
  const Shape out = broadcast_shapes(broadcast_shapes(a.shape(), b.shape(), op), c.shape(), op);
  Tensor y = empty(out, a.dtype(), op);
  dispatch_floating(a.dtype(), op, [&]<class T>() {
    Tensor keep[3];
    auto full_view = [&](const Tensor& t, Tensor& k) -> const T* {
      if (t.shape() == out) return t.cdata<T>();
      k = empty(out, t.dtype(), op);
      kernels::broadcast_to(t.cdata<T>(), t.shape(), k.cdata<T>(), out);
      return k.cdata<T>();
    };
    const T* pa = full_view(a, keep[0]);
    const T* pb = full_view(b, keep[1]);
    const T* pc = full_view(c, keep[2]);
    T* py = y.cdata<T>();
    parallel_for(0, y.numel(), kernels::kGrain, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) py[i] = static_cast<T>(f(pa[i], pb[i], pc[i]));
    });
  });
  return y;
}

/// trunc(a / b) and torch's floor division (div(a, b, rounding_mode="floor")) as constants (not recorded):
/// the derivatives of fmod and remainder with respect to the divisor.
Tensor trunc_div_values(const Tensor& a, const Tensor& b) {
  return zip_floating(a.detach(), b.detach(), "fmod", [](auto u, auto v) { return std::trunc(u / v); });
}
Tensor floor_div_values(const Tensor& a, const Tensor& b) {
  return zip_floating(a.detach(), b.detach(), "remainder", [](auto u, auto v) {
    using T = decltype(u);
    if (v == 0) return u / v;
    const T mod = std::fmod(u, v);
    T d = (u - mod) / v;
    if (mod != 0 && (v < 0) != (mod < 0)) d -= 1;
    if (d == 0) return std::copysign(T(0), u / v);
    T fd = std::floor(d);
    if (d - fd > T(0.5)) fd += 1;
    return fd;
  });
}

template <class T>
T remainder_value(T u, T v) {
  T mod = std::fmod(u, v);
  if (mod != 0 && (v < 0) != (mod < 0)) mod += v;
  return mod;
}

}  // namespace

// ---- trigonometric and hyperbolic ----------------------------------------------------------------

Tensor sin(const Tensor& x) {
  Tensor y = map_floating(x, "sin", [](auto v) { return std::sin(v); });
  if (any_requires_grad({&x}))
    record("sin", {&x}, {&y}, [sx = SavedTensor(x)](BackwardCtx& c) { c.set(0, mul(c.grad(), cos(sx.get("sin")))); });
  if (any_tangent({&x})) propagate_tangent("sin", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, mul(c.tangent(0), cos(x))); });
  return y;
}

Tensor cos(const Tensor& x) {
  Tensor y = map_floating(x, "cos", [](auto v) { return std::cos(v); });
  if (any_requires_grad({&x}))
    record("cos", {&x}, {&y},
           [sx = SavedTensor(x)](BackwardCtx& c) { c.set(0, neg(mul(c.grad(), sin(sx.get("cos"))))); });
  if (any_tangent({&x}))
    propagate_tangent("cos", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, neg(mul(c.tangent(0), sin(x)))); });
  return y;
}

Tensor tan(const Tensor& x) {
  Tensor y = map_floating(x, "tan", [](auto v) { return std::tan(v); });
  if (any_requires_grad({&x}))
    record(
        "tan", {&x}, {&y}, [](BackwardCtx& c) { c.set(0, mul(c.grad(), add(square(c.output()), 1.0))); }, Keep::Output);
  if (any_tangent({&x}))
    propagate_tangent("tan", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, mul(c.tangent(0), add(square(y), 1.0))); });
  return y;
}

Tensor asin(const Tensor& x) {
  Tensor y = map_floating(x, "asin", [](auto v) { return std::asin(v); });
  if (any_requires_grad({&x}))
    record("asin", {&x}, {&y}, [sx = SavedTensor(x)](BackwardCtx& c) {
      const Tensor xv = sx.get("asin");
      c.set(0, mul(c.grad(), rsqrt(sub(1.0, square(xv)))));
    });
  if (any_tangent({&x}))
    propagate_tangent("asin", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, mul(c.tangent(0), rsqrt(sub(1.0, square(x))))); });
  return y;
}

Tensor acos(const Tensor& x) {
  Tensor y = map_floating(x, "acos", [](auto v) { return std::acos(v); });
  if (any_requires_grad({&x}))
    record("acos", {&x}, {&y}, [sx = SavedTensor(x)](BackwardCtx& c) {
      const Tensor xv = sx.get("acos");
      c.set(0, neg(mul(c.grad(), rsqrt(sub(1.0, square(xv))))));
    });
  if (any_tangent({&x}))
    propagate_tangent("acos", {&x}, {&y},
                      [&](JvpCtx& c) { c.set(0, neg(mul(c.tangent(0), rsqrt(sub(1.0, square(x)))))); });
  return y;
}

Tensor atan(const Tensor& x) {
  Tensor y = map_floating(x, "atan", [](auto v) { return std::atan(v); });
  if (any_requires_grad({&x}))
    record("atan", {&x}, {&y},
           [sx = SavedTensor(x)](BackwardCtx& c) { c.set(0, div(c.grad(), add(square(sx.get("atan")), 1.0))); });
  if (any_tangent({&x}))
    propagate_tangent("atan", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, div(c.tangent(0), add(square(x), 1.0))); });
  return y;
}

Tensor atan2(const Tensor& a, const Tensor& b) {
  Tensor y = zip_floating(a, b, "atan2", [](auto u, auto v) { return std::atan2(u, v); });
  if (any_requires_grad({&a, &b}))
    record("atan2", {&a, &b}, {&y}, [sa = SavedTensor(a), sb = SavedTensor(b)](BackwardCtx& c) {
      const Tensor av = sa.get("atan2"), bv = sb.get("atan2");
      const Tensor recip = reciprocal(add(square(av), square(bv)));
      if (c.needs(0)) c.set(0, sum_to(mul(mul(c.grad(), bv), recip), av.shape()));
      if (c.needs(1)) c.set(1, sum_to(mul(mul(c.grad(), neg(av)), recip), bv.shape()));
    });
  if (any_tangent({&a, &b}))  // (ta b - tb a) / (a^2 + b^2)
    propagate_tangent("atan2", {&a, &b}, {&y}, [&](JvpCtx& c) {
      const Tensor num =
          tangent_add(c.has(0) ? mul(c.tangent(0), b) : Tensor(), c.has(1) ? neg(mul(c.tangent(1), a)) : Tensor());
      c.set(0, tangent_to(div(num, add(square(a), square(b))), y.shape()));
    });
  return y;
}

Tensor sinh(const Tensor& x) {
  Tensor y = map_floating(x, "sinh", [](auto v) { return std::sinh(v); });
  if (any_requires_grad({&x}))
    record("sinh", {&x}, {&y},
           [sx = SavedTensor(x)](BackwardCtx& c) { c.set(0, mul(c.grad(), cosh(sx.get("sinh")))); });
  if (any_tangent({&x}))
    propagate_tangent("sinh", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, mul(c.tangent(0), cosh(x))); });
  return y;
}

Tensor cosh(const Tensor& x) {
  Tensor y = map_floating(x, "cosh", [](auto v) { return std::cosh(v); });
  if (any_requires_grad({&x}))
    record("cosh", {&x}, {&y},
           [sx = SavedTensor(x)](BackwardCtx& c) { c.set(0, mul(c.grad(), sinh(sx.get("cosh")))); });
  if (any_tangent({&x}))
    propagate_tangent("cosh", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, mul(c.tangent(0), sinh(x))); });
  return y;
}

// ---- exponential, logarithmic, powers -------------------------------------------------------------

Tensor erf(const Tensor& x) {
  Tensor y = map_floating(x, "erf", [](auto v) { return std::erf(v); });
  if (any_requires_grad({&x}))
    record("erf", {&x}, {&y}, [sx = SavedTensor(x)](BackwardCtx& c) {
      const Tensor xv = sx.get("erf");
      c.set(0, mul(c.grad(), mul(exp(neg(square(xv))), 2.0 / std::sqrt(std::numbers::pi))));
    });
  if (any_tangent({&x}))
    propagate_tangent("erf", {&x}, {&y}, [&](JvpCtx& c) {
      c.set(0, mul(c.tangent(0), mul(exp(neg(square(x))), 2.0 / std::sqrt(std::numbers::pi))));
    });
  return y;
}

Tensor log1p(const Tensor& x) {
  Tensor y = map_floating(x, "log1p", [](auto v) { return std::log1p(v); });
  if (any_requires_grad({&x}))
    record("log1p", {&x}, {&y},
           [sx = SavedTensor(x)](BackwardCtx& c) { c.set(0, div(c.grad(), add(sx.get("log1p"), 1.0))); });
  if (any_tangent({&x}))
    propagate_tangent("log1p", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, div(c.tangent(0), add(x, 1.0))); });
  return y;
}

Tensor expm1(const Tensor& x) {
  Tensor y = map_floating(x, "expm1", [](auto v) { return std::expm1(v); });
  if (any_requires_grad({&x}))
    record(
        "expm1", {&x}, {&y}, [](BackwardCtx& c) { c.set(0, mul(c.grad(), add(c.output(), 1.0))); }, Keep::Output);
  if (any_tangent({&x}))
    propagate_tangent("expm1", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, mul(c.tangent(0), add(y, 1.0))); });
  return y;
}

Tensor log2(const Tensor& x) {
  Tensor y = map_floating(x, "log2", [](auto v) { return std::log2(v); });
  if (any_requires_grad({&x}))
    record("log2", {&x}, {&y},
           [sx = SavedTensor(x)](BackwardCtx& c) { c.set(0, div(c.grad(), mul(sx.get("log2"), std::numbers::ln2))); });
  if (any_tangent({&x}))
    propagate_tangent("log2", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, div(c.tangent(0), mul(x, std::numbers::ln2))); });
  return y;
}

Tensor log10(const Tensor& x) {
  Tensor y = map_floating(x, "log10", [](auto v) { return std::log10(v); });
  if (any_requires_grad({&x}))
    record("log10", {&x}, {&y}, [sx = SavedTensor(x)](BackwardCtx& c) {
      c.set(0, div(c.grad(), mul(sx.get("log10"), std::numbers::ln10)));
    });
  if (any_tangent({&x}))
    propagate_tangent("log10", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, div(c.tangent(0), mul(x, std::numbers::ln10))); });
  return y;
}

Tensor rsqrt(const Tensor& x) {
  Tensor y = map_floating(x, "rsqrt", [](auto v) { return decltype(v)(1) / std::sqrt(v); });
  if (any_requires_grad({&x}))
    record(
        "rsqrt", {&x}, {&y}, [](BackwardCtx& c) { c.set(0, mul(mul(c.grad(), pow(c.output(), 3.0)), -0.5)); },
        Keep::Output);
  if (any_tangent({&x}))
    propagate_tangent("rsqrt", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, mul(mul(c.tangent(0), pow(y, 3.0)), -0.5)); });
  return y;
}

Tensor reciprocal(const Tensor& x) {
  Tensor y = map_floating(x, "reciprocal", [](auto v) { return decltype(v)(1) / v; });
  if (any_requires_grad({&x}))
    record(
        "reciprocal", {&x}, {&y}, [](BackwardCtx& c) { c.set(0, neg(mul(c.grad(), square(c.output())))); },
        Keep::Output);
  if (any_tangent({&x}))
    propagate_tangent("reciprocal", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, neg(mul(c.tangent(0), square(y)))); });
  return y;
}

// ---- rounding and sign ----------------------------------------------------------------------------------

namespace {
template <class F>
Tensor piecewise_constant(const Tensor& x, const char* op, F f) {
  Tensor y = map_floating(x, op, f);
  if (any_requires_grad({&x})) record(op, {&x}, {&y}, [](BackwardCtx& c) { c.set(0, zero_grad(c.grad())); });
  if (any_tangent({&x})) propagate_tangent(op, {&x}, {&y}, [](JvpCtx& c) { c.set(0, zeros_like(c.tangent(0))); });
  return y;
}
}  // namespace

Tensor sign(const Tensor& x) {
  return piecewise_constant(x, "sign", [](auto v) { return decltype(v)((0 < v) - (v < 0)); });
}
Tensor floor(const Tensor& x) {
  return piecewise_constant(x, "floor", [](auto v) { return std::floor(v); });
}
Tensor ceil(const Tensor& x) {
  return piecewise_constant(x, "ceil", [](auto v) { return std::ceil(v); });
}
// nearbyint in the default rounding mode (to nearest, halves to even), as torch.round
Tensor round(const Tensor& x) {
  return piecewise_constant(x, "round", [](auto v) { return std::nearbyint(v); });
}
Tensor trunc(const Tensor& x) {
  return piecewise_constant(x, "trunc", [](auto v) { return std::trunc(v); });
}

Tensor round(const Tensor& x, std::int64_t decimals) {
  const bool neg_flag = decimals < 0;
  const double ten_pow = std::pow(10.0, static_cast<double>(neg_flag ? -decimals : decimals));
  return piecewise_constant(x, "round", [neg_flag, ten_pow](auto v) {
    using T = decltype(v);
    const T p = static_cast<T>(ten_pow);
    return neg_flag ? std::nearbyint(v / p) * p : std::nearbyint(v * p) / p;
  });
}

Tensor frac(const Tensor& x) {
  Tensor y = map_floating(x, "frac", [](auto v) { return v - std::trunc(v); });
  if (any_requires_grad({&x})) record("frac", {&x}, {&y}, [](BackwardCtx& c) { c.set(0, c.grad()); });
  if (any_tangent({&x})) propagate_tangent("frac", {&x}, {&y}, [](JvpCtx& c) { c.set(0, c.tangent(0)); });
  return y;
}

// ---- division remainders ----------------------------------------------------------------------------

Tensor fmod(const Tensor& a, const Tensor& b) {
  Tensor y = zip_floating(a, b, "fmod", [](auto u, auto v) { return std::fmod(u, v); });
  if (any_requires_grad({&a, &b}))
    record("fmod", {&a, &b}, {&y}, [sa = SavedTensor(a), sb = SavedTensor(b)](BackwardCtx& c) {
      const Tensor av = sa.get("fmod"), bv = sb.get("fmod");
      if (c.needs(0)) c.set(0, sum_to(c.grad(), av.shape()));
      if (c.needs(1)) c.set(1, sum_to(neg(mul(c.grad(), trunc_div_values(av, bv))), bv.shape()));
    });
  if (any_tangent({&a, &b}))  // ta - trunc(a / b) tb
    propagate_tangent("fmod", {&a, &b}, {&y}, [&](JvpCtx& c) {
      c.set(0,
            tangent_to(tangent_add(c.tangent(0), c.has(1) ? neg(mul(c.tangent(1), trunc_div_values(a, b))) : Tensor()),
                       y.shape()));
    });
  return y;
}

Tensor fmod(const Tensor& a, double b) {
  Tensor y = map_floating(a, "fmod", [b](auto u) { return std::fmod(u, static_cast<decltype(u)>(b)); });
  if (any_requires_grad({&a})) record("fmod_scalar", {&a}, {&y}, [](BackwardCtx& c) { c.set(0, c.grad()); });
  if (any_tangent({&a})) propagate_tangent("fmod_scalar", {&a}, {&y}, [](JvpCtx& c) { c.set(0, c.tangent(0)); });
  return y;
}

Tensor remainder(const Tensor& a, const Tensor& b) {
  Tensor y = zip_floating(a, b, "remainder", [](auto u, auto v) { return remainder_value(u, v); });
  if (any_requires_grad({&a, &b}))
    record("remainder", {&a, &b}, {&y}, [sa = SavedTensor(a), sb = SavedTensor(b)](BackwardCtx& c) {
      const Tensor av = sa.get("remainder"), bv = sb.get("remainder");
      if (c.needs(0)) c.set(0, sum_to(c.grad(), av.shape()));
      if (c.needs(1)) c.set(1, sum_to(neg(mul(c.grad(), floor_div_values(av, bv))), bv.shape()));
    });
  if (any_tangent({&a, &b}))  // ta - floor(a / b) tb
    propagate_tangent("remainder", {&a, &b}, {&y}, [&](JvpCtx& c) {
      c.set(0,
            tangent_to(tangent_add(c.tangent(0), c.has(1) ? neg(mul(c.tangent(1), floor_div_values(a, b))) : Tensor()),
                       y.shape()));
    });
  return y;
}

Tensor remainder(const Tensor& a, double b) {
  Tensor y = map_floating(a, "remainder", [b](auto u) { return remainder_value(u, static_cast<decltype(u)>(b)); });
  if (any_requires_grad({&a})) record("remainder_scalar", {&a}, {&y}, [](BackwardCtx& c) { c.set(0, c.grad()); });
  if (any_tangent({&a})) propagate_tangent("remainder_scalar", {&a}, {&y}, [](JvpCtx& c) { c.set(0, c.tangent(0)); });
  return y;
}

// ---- elementwise extremes and interpolation ----------------------------------------------------------

namespace {
/// maximum (Max) or minimum: NaN when either is NaN. The gradient weights, as PyTorch's
/// where(a == b, g/2, g).masked_fill_(a < b, 0) for a (Max), the mirror image for b and for minimum.
template <bool Max>
Tensor extremum_weight(const Tensor& a, const Tensor& b, bool first, const char* op) {
  return zip_floating(a.detach(), b.detach(), op, [first](auto u, auto v) {
    using T = decltype(u);
    if (u == v) return T(0.5);
    const bool loses = first == Max ? u < v : u > v;
    return loses ? T(0) : T(1);
  });
}

template <bool Max>
Tensor extremum(const Tensor& a, const Tensor& b, const char* op) {
  Tensor y = zip_floating(a, b, op, [](auto u, auto v) {
    using T = decltype(u);
    if (u != u || v != v) return std::numeric_limits<T>::quiet_NaN();
    return Max ? (u < v ? v : u) : (v < u ? v : u);
  });
  if (any_requires_grad({&a, &b}))
    record(op, {&a, &b}, {&y}, [sa = SavedTensor(a), sb = SavedTensor(b), op](BackwardCtx& c) {
      const Tensor av = sa.get(op), bv = sb.get(op);
      if (c.needs(0)) c.set(0, sum_to(mul(c.grad(), extremum_weight<Max>(av, bv, true, op)), av.shape()));
      if (c.needs(1)) c.set(1, sum_to(mul(c.grad(), extremum_weight<Max>(av, bv, false, op)), bv.shape()));
    });
  if (any_tangent({&a, &b}))  // the VJP's weights: ties take half of each tangent, NaN all of both
    propagate_tangent(op, {&a, &b}, {&y}, [&](JvpCtx& c) {
      const Tensor ta = c.has(0) ? mul(c.tangent(0), extremum_weight<Max>(a, b, true, op)) : Tensor();
      const Tensor tb = c.has(1) ? mul(c.tangent(1), extremum_weight<Max>(a, b, false, op)) : Tensor();
      c.set(0, tangent_to(tangent_add(ta, tb), y.shape()));
    });
  return y;
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum<true>(a, b, "maximum"); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum<false>(a, b, "minimum"); }

namespace {
template <class T>
T lerp_value(T s, T e, T w) {
  return std::abs(w) < T(0.5) ? s + w * (e - s) : e - (e - s) * (T(1) - w);
}
}  // namespace

Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight) {
  Tensor y = zip3_floating(start, end, weight, "lerp", [](auto s, auto e, auto w) { return lerp_value(s, e, w); });
  if (any_requires_grad({&start, &end, &weight}))
    record("lerp", {&start, &end, &weight}, {&y},
           [ss = SavedTensor(start), se = SavedTensor(end), sw = SavedTensor(weight)](BackwardCtx& c) {
             const Tensor s = ss.get("lerp"), e = se.get("lerp"), w = sw.get("lerp");
             const Tensor& g = c.grad();
             if (c.needs(0)) c.set(0, sum_to(mul(g, sub(1.0, w)), s.shape()));
             if (c.needs(1)) c.set(1, sum_to(mul(g, w), e.shape()));
             if (c.needs(2)) c.set(2, sum_to(mul(g, sub(e, s)), w.shape()));
           });
  if (any_tangent({&start, &end, &weight}))  // ts (1 - w) + te w + tw (e - s)
    propagate_tangent("lerp", {&start, &end, &weight}, {&y}, [&](JvpCtx& c) {
      Tensor t = c.has(0) ? mul(c.tangent(0), sub(1.0, weight)) : Tensor();
      t = tangent_add(t, c.has(1) ? mul(c.tangent(1), weight) : Tensor());
      t = tangent_add(t, c.has(2) ? mul(c.tangent(2), sub(end, start)) : Tensor());
      c.set(0, tangent_to(t, y.shape()));
    });
  return y;
}

Tensor lerp(const Tensor& start, const Tensor& end, double weight) {
  Tensor y = zip_floating(start, end, "lerp",
                          [weight](auto s, auto e) { return lerp_value(s, e, static_cast<decltype(s)>(weight)); });
  if (any_requires_grad({&start, &end}))
    record("lerp_scalar", {&start, &end}, {&y}, [weight, ss = start.shape(), se = end.shape()](BackwardCtx& c) {
      if (c.needs(0)) c.set(0, sum_to(mul(c.grad(), 1.0 - weight), ss));
      if (c.needs(1)) c.set(1, sum_to(mul(c.grad(), weight), se));
    });
  if (any_tangent({&start, &end}))
    propagate_tangent("lerp_scalar", {&start, &end}, {&y}, [&](JvpCtx& c) {
      c.set(0, tangent_to(tangent_add(c.has(0) ? mul(c.tangent(0), 1.0 - weight) : Tensor(),
                                      c.has(1) ? mul(c.tangent(1), weight) : Tensor()),
                          y.shape()));
    });
  return y;
}

Tensor addcmul(const Tensor& self, const Tensor& t1, const Tensor& t2, double value) {
  Tensor y = zip3_floating(self, t1, t2, "addcmul",
                           [value](auto s, auto u, auto v) { return s + static_cast<decltype(s)>(value) * u * v; });
  if (any_requires_grad({&self, &t1, &t2}))
    record("addcmul", {&self, &t1, &t2}, {&y},
           [value, s_shape = self.shape(), s1 = SavedTensor(t1), s2 = SavedTensor(t2)](BackwardCtx& c) {
             const Tensor a = s1.get("addcmul"), b = s2.get("addcmul");
             const Tensor& g = c.grad();
             if (c.needs(0)) c.set(0, sum_to(g, s_shape));
             if (c.needs(1)) c.set(1, sum_to(mul(mul(g, b), value), a.shape()));
             if (c.needs(2)) c.set(2, sum_to(mul(mul(g, a), value), b.shape()));
           });
  if (any_tangent({&self, &t1, &t2}))  // ts + value (t1 b + a t2)
    propagate_tangent("addcmul", {&self, &t1, &t2}, {&y}, [&](JvpCtx& c) {
      const Tensor prod =
          tangent_add(c.has(1) ? mul(c.tangent(1), t2) : Tensor(), c.has(2) ? mul(t1, c.tangent(2)) : Tensor());
      c.set(0, tangent_to(tangent_add(c.tangent(0), prod.defined() ? mul(prod, value) : Tensor()), y.shape()));
    });
  return y;
}

Tensor addcdiv(const Tensor& self, const Tensor& t1, const Tensor& t2, double value) {
  Tensor y = zip3_floating(self, t1, t2, "addcdiv",
                           [value](auto s, auto u, auto v) { return s + static_cast<decltype(s)>(value) * u / v; });
  if (any_requires_grad({&self, &t1, &t2}))
    record("addcdiv", {&self, &t1, &t2}, {&y},
           [value, s_shape = self.shape(), s1 = SavedTensor(t1), s2 = SavedTensor(t2)](BackwardCtx& c) {
             const Tensor a = s1.get("addcdiv"), b = s2.get("addcdiv");
             const Tensor& g = c.grad();
             if (c.needs(0)) c.set(0, sum_to(g, s_shape));
             if (c.needs(1)) c.set(1, sum_to(mul(g, div(value, b)), a.shape()));
             if (c.needs(2)) c.set(2, sum_to(neg(div(mul(mul(g, value), a), square(b))), b.shape()));
           });
  if (any_tangent({&self, &t1, &t2}))  // ts + value (t1 - (a / b) t2) / b
    propagate_tangent("addcdiv", {&self, &t1, &t2}, {&y}, [&](JvpCtx& c) {
      const Tensor num = tangent_add(c.tangent(1), c.has(2) ? neg(mul(div(t1, t2), c.tangent(2))) : Tensor());
      c.set(0, tangent_to(tangent_add(c.tangent(0), num.defined() ? mul(div(num, t2), value) : Tensor()), y.shape()));
    });
  return y;
}

// ---- small matrix products ----------------------------------------------------------------------------

Tensor bmm(const Tensor& a, const Tensor& b) {
  detail::check_same_dtype(a, b, "bmm");
  check_floating(a, "bmm");
  if (a.dim() != 3 || b.dim() != 3) fail("bmm: expects 3-D inputs, got {} and {}", describe(a), describe(b));
  if (a.size(0) != b.size(0))
    fail("bmm: batch sizes differ: {} and {} (bmm does not broadcast; use matmul)", describe(a), describe(b));
  if (a.size(2) != b.size(1))
    fail("bmm: inner dimensions do not match: {} @ {} ({} vs {})", describe(a), describe(b), a.size(2), b.size(1));
  return matmul_transposed(a, b, false, false);
}

Tensor addmm(const Tensor& self, const Tensor& m1, const Tensor& m2, double beta, double alpha) {
  detail::check_same_dtype(m1, m2, "addmm");
  detail::check_same_dtype(self, m1, "addmm");
  check_floating(m1, "addmm");
  if (m1.dim() != 2 || m2.dim() != 2)
    fail("addmm: mat1 and mat2 must be 2-D, got {} and {}", describe(m1), describe(m2));
  if (m1.size(1) != m2.size(0))
    fail("addmm: inner dimensions do not match: {} @ {} ({} vs {})", describe(m1), describe(m2), m1.size(1),
         m2.size(0));
  const Shape out{m1.size(0), m2.size(1)};
  const Shape& ss = self.shape();
  bool fits = ss.size() <= 2;
  for (std::size_t k = 1; fits && k <= ss.size(); ++k) fits = ss[ss.size() - k] == 1 || ss[ss.size() - k] == out[2 - k];
  if (!fits) fail("addmm: self {} does not broadcast to the product's shape {}", describe(self), shape_str(out));
  Tensor y;
  {
    NoGradGuard ng;
    detail::FwSuspend no_fw;  // one op: its tangent comes from its own rule below
    const Tensor p = matmul_transposed(m1, m2, false, false);
    if (beta == 0.0) {
      y = alpha == 1.0 ? p : map_floating(p, "addmm", [alpha](auto v) { return static_cast<decltype(v)>(alpha) * v; });
    } else {
      // zip_floating broadcasts self against the product; the product already has the output shape
      y = zip_floating(self, p, "addmm", [beta, alpha](auto s, auto v) {
        using T = decltype(s);
        return static_cast<T>(beta) * s + static_cast<T>(alpha) * v;
      });
    }
  }
  if (any_requires_grad({&self, &m1, &m2}))
    record("addmm", {&self, &m1, &m2}, {&y},
           [beta, alpha, s_shape = self.shape(), s1 = SavedTensor(m1), s2 = SavedTensor(m2)](BackwardCtx& c) {
             const Tensor& g = c.grad();
             auto scaled = [](const Tensor& t, double k) { return k == 1.0 ? t : mul(t, k); };
             if (c.needs(0)) c.set(0, sum_to(scaled(g, beta), s_shape));
             if (c.needs(1)) c.set(1, scaled(matmul_transposed(g, s2.get("addmm"), false, true), alpha));
             if (c.needs(2)) c.set(2, scaled(matmul_transposed(s1.get("addmm"), g, true, false), alpha));
           });
  if (any_tangent({&self, &m1, &m2}))  // beta ts + alpha (t1 m2 + m1 t2); self ignored when beta = 0, as torch
    propagate_tangent("addmm", {&self, &m1, &m2}, {&y}, [&](JvpCtx& c) {
      auto scaled = [](const Tensor& t, double k) { return k == 1.0 ? t : mul(t, k); };
      const Tensor prod = tangent_add(c.has(1) ? matmul_transposed(c.tangent(1), m2, false, false) : Tensor(),
                                      c.has(2) ? matmul_transposed(m1, c.tangent(2), false, false) : Tensor());
      Tensor t = prod.defined() ? scaled(prod, alpha) : Tensor();
      if (beta != 0.0 && c.has(0)) t = tangent_add(t, scaled(c.tangent(0), beta));
      c.set(0, t.defined() ? tangent_to(t, y.shape()) : zeros_like(y));
    });
  return y;
}

Tensor outer(const Tensor& a, const Tensor& b) {
  detail::check_same_dtype(a, b, "outer");
  check_floating(a, "outer");
  if (a.dim() != 1 || b.dim() != 1) fail("outer: expects 1-D inputs, got {} and {}", describe(a), describe(b));
  return mul(unsqueeze(a, 1), unsqueeze(b, 0));
}

Tensor dot(const Tensor& a, const Tensor& b) {
  detail::check_same_dtype(a, b, "dot");
  check_floating(a, "dot");
  if (a.dim() != 1 || b.dim() != 1) fail("dot: expects 1-D inputs, got {} and {}", describe(a), describe(b));
  if (a.numel() != b.numel())
    fail("dot: inputs must have the same number of elements, got {} and {}", describe(a), describe(b));
  return matmul(a, b);
}

// ---- variance and standard deviation --------------------------------------------------------------------

namespace {

struct VarPlan {
  std::optional<std::int64_t> dim;  // normalised
  double dof = 0;                   // max(0, N - correction)
  bool keepdim = false;
};

VarPlan var_plan(const Tensor& x, std::optional<std::int64_t> dim, double correction, bool keepdim, const char* op) {
  check_floating(x, op);
  VarPlan p;
  p.keepdim = keepdim;
  std::int64_t n = x.numel();
  if (dim) {
    p.dim = normalize_dim(*dim, x.dim(), op);
    n = x.dim() == 0 ? 1 : x.size(*p.dim);
  }
  p.dof = std::max(0.0, static_cast<double>(n) - correction);
  return p;
}

/// x - mean(x) over the plan's dim (all elements when none), broadcasting against x.
Tensor centered(const Tensor& x, const VarPlan& p) { return sub(x, p.dim ? mean(x, *p.dim, true) : mean(x)); }

/// sum(t) over the plan's dim, with its keepdim (all elements: a 0-d result, or all ones with keepdim).
Tensor plan_sum(const Tensor& t, const VarPlan& p) {
  if (p.dim) return sum(t, *p.dim, p.keepdim);
  const Tensor s = sum(t);
  return p.keepdim ? reshape(s, Shape(static_cast<std::size_t>(t.dim()), 1)) : s;
}

Tensor var_impl(const Tensor& x, const VarPlan& p) { return div(plan_sum(square(centered(x, p)), p), p.dof); }

Tensor std_impl(const Tensor& x, const VarPlan& p) {
  Tensor y;
  {
    NoGradGuard ng;
    detail::FwSuspend no_fw;  // one op: its tangent comes from its own rule below
    y = sqrt(var_impl(x, p));
  }
  if (any_requires_grad({&x}))
    record(
        "std", {&x}, {&y},
        [p, sx = SavedTensor(x)](BackwardCtx& c) {
          const Tensor xv = sx.get("std");
          const Tensor yv = c.output();
          // torch's std_backward: grad / (2 y), 0 where y = 0; then var's backward
          Tensor gv = where(eq(yv.detach(), 0.0), 0.0, div(c.grad(), mul(yv, 2.0)));
          if (p.dim && !p.keepdim && xv.dim() > 0) gv = unsqueeze(gv, *p.dim);
          c.set(0, mul(mul(gv, centered(xv, p)), 2.0 / p.dof));
        },
        Keep::Output);
  if (any_tangent({&x}))  // d var = 2 / dof sum((x - mean) t), d std = d var / (2 std); 0 where std = 0, as torch
    propagate_tangent("std", {&x}, {&y}, [&](JvpCtx& c) {
      const Tensor dv = div(plan_sum(mul(centered(x, p), c.tangent(0)), p), p.dof);
      c.set(0, where(eq(y.detach(), 0.0), 0.0, div(dv, y)));
    });
  return y;
}

}  // namespace

Tensor var(const Tensor& x, std::int64_t dim, bool unbiased, bool keepdim) {
  return var_impl(x, var_plan(x, dim, unbiased ? 1.0 : 0.0, keepdim, "var"));
}
Tensor var(const Tensor& x, std::optional<std::int64_t> dim, std::optional<double> correction, bool keepdim) {
  return var_impl(x, var_plan(x, dim, correction.value_or(1.0), keepdim, "var"));
}
Tensor std(const Tensor& x, std::int64_t dim, bool unbiased, bool keepdim) {
  return std_impl(x, var_plan(x, dim, unbiased ? 1.0 : 0.0, keepdim, "std"));
}
Tensor std(const Tensor& x, std::optional<std::int64_t> dim, std::optional<double> correction, bool keepdim) {
  return std_impl(x, var_plan(x, dim, correction.value_or(1.0), keepdim, "std"));
}

}  // namespace ag
