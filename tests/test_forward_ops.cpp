// JVP rules (forward mode, autograd/forward_grad.h) of the unary, math, convert, compare, reduce,
// softmax and scan ops, beyond their gradchecks (which check every rule against finite differences
// and the tape): ties split as the VJPs split them, dtype conversions, and the rules differentiated
// again: reverse over forward against reverse over reverse (both give u^T H v), and forward over
// reverse, where the backward ops (tanh_backward, sigmoid_backward, ...) propagate the tangent.
#include <doctest/doctest.h>

#include "test_util.h"

using namespace ag;
namespace fw = ag::autograd::forward_ad;

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

/// The tangent of f at the inputs with tangents vs (undefined where f's output carries none).
Tensor jvp(const Fn& f, const std::vector<Tensor>& xs, const std::vector<Tensor>& vs) {
  fw::dual_level level;
  std::vector<Tensor> d;
  for (std::size_t i = 0; i < xs.size(); ++i) d.push_back(fw::make_dual(xs[i], vs[i]));
  return fw::unpack_dual(f(d)).tangent;
}

/// g, or zeros of x's shape where g is undefined (an input the output does not depend on).
Tensor or_zeros(const Tensor& g, const Tensor& x) { return g.defined() ? g : zeros_like(x.detach()); }

/// d/dx_i <u, J(x) v> twice: by reverse mode over the JVP rules, and by reverse over reverse
/// (d/dx_i <J(x)^T u, v>); both are (u^T H v)_i.
void check_reverse_over_forward(const Fn& f, const std::vector<Tensor>& xs) {
  std::vector<Tensor> vs;
  for (std::size_t i = 0; i < xs.size(); ++i)
    vs.push_back(agt::input(xs[i].shape(), 3.0 + static_cast<double>(i), 1.0, 0.1, false));
  const Tensor y = f(xs);
  const Tensor u = agt::input(y.shape(), 0.7, 1.0, 0.3, false);
  const Tensor t = jvp(f, xs, vs);
  REQUIRE(t.defined());
  const Tensor tu = sum(mul(t, u));
  const auto a = tu.requires_grad() ? ag::grad({tu}, xs, {}, std::nullopt, false, /*allow_unused=*/true)
                                    : std::vector<Tensor>(xs.size());
  const auto g = ag::grad({sum(mul(f(xs), u))}, xs, {}, std::nullopt, /*create_graph=*/true, /*allow_unused=*/true);
  Tensor gv = zeros({}, kFloat64);
  for (std::size_t i = 0; i < xs.size(); ++i)
    if (g[i].defined()) gv = add(gv, sum(mul(g[i], vs[i])));
  const auto b =
      gv.requires_grad() ? ag::grad({gv}, xs, {}, std::nullopt, false, true) : std::vector<Tensor>(xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) {
    INFO("input " << i);
    agt::check_values(or_zeros(a[i], xs[i]), or_zeros(b[i], xs[i]).to_vector<double>(), 1e-10);
  }
}

/// The tangent of d<u, f(x)>/dx for x with tangent v (forward over reverse: the VJPs' ops propagate
/// it) against reverse over reverse: both are H v.
void check_forward_over_reverse(const Fn& f, const Tensor& x) {
  const Tensor v = agt::input(x.shape(), 3.0, 1.0, 0.1, false);
  const Tensor u = agt::input(f({x}).shape(), 0.7, 1.0, 0.3, false);
  Tensor hv;
  {
    fw::dual_level level;
    const Tensor xd = fw::make_dual(x, v);
    const Tensor g = ag::grad({sum(mul(f({xd}), u))}, {x})[0];
    hv = fw::unpack_dual(g).tangent;
  }
  const Tensor g = ag::grad({sum(mul(f({x}), u))}, {x}, {}, std::nullopt, /*create_graph=*/true)[0];
  const Tensor gv = sum(mul(g, v));
  const Tensor expect =
      gv.requires_grad() ? or_zeros(ag::grad({gv}, {x}, {}, std::nullopt, false, true)[0], x) : zeros_like(x.detach());
  agt::check_values(or_zeros(hv, x), expect.to_vector<double>(), 1e-10);
}

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

}  // namespace

TEST_CASE("forward AD: ties take the tangent as the VJPs split the gradient") {
  const Tensor x = tensor({1.0, 3.0, 3.0, 2.0, 0.5, 0.5}, {2, 3}, kFloat64);
  const Tensor v = tensor({10.0, 20.0, 40.0, 80.0, 160.0, 320.0}, {2, 3}, kFloat64);
  // max/min over a dim: the tangent at the index returned (as torch's gather of the tangent)
  const auto mx = max(x, 1);
  const auto idx = mx.indices.to_vector<std::int64_t>();
  const auto tmax = values(jvp([](const auto& in) { return max(in[0], 1).values; }, {x}, {v}));
  CHECK(tmax == std::vector<double>{values(v)[static_cast<std::size_t>(idx[0])],
                                    values(v)[3 + static_cast<std::size_t>(idx[1])]});
  const auto imin = min(x, 1, true).indices.to_vector<std::int64_t>();
  const Tensor tmin = jvp([](const auto& in) { return min(in[0], 1, true).values; }, {x}, {v});
  CHECK(tmin.shape() == Shape{2, 1});
  CHECK(values(tmin) == std::vector<double>{values(v)[static_cast<std::size_t>(imin[0])],
                                            values(v)[3 + static_cast<std::size_t>(imin[1])]});
  // amax/amin and max()/min() of all elements: the mean of the tangents at the ties
  CHECK(values(jvp([](const auto& in) { return amax(in[0], 1); }, {x}, {v})) == std::vector<double>{30.0, 80.0});
  CHECK(values(jvp([](const auto& in) { return amin(in[0], 1); }, {x}, {v})) == std::vector<double>{10.0, 240.0});
  CHECK(values(jvp([](const auto& in) { return max(in[0]); }, {x}, {v})) == std::vector<double>{30.0});
  CHECK(values(jvp([](const auto& in) { return min(in[0]); }, {x}, {v})) == std::vector<double>{240.0});
  // maximum/minimum: half of each at a tie, the winner's elsewhere; NaN takes both
  const Tensor a = tensor({1.0, 2.0, 3.0, std::nan("")}, {4}, kFloat64);
  const Tensor b = tensor({1.0, 0.0, 5.0, 1.0}, {4}, kFloat64);
  const Tensor ta = tensor({2.0, 4.0, 8.0, 1.0}, {4}, kFloat64);
  const Tensor tb = tensor({16.0, 32.0, 64.0, 2.0}, {4}, kFloat64);
  CHECK(values(jvp([](const auto& in) { return maximum(in[0], in[1]); }, {a, b}, {ta, tb})) ==
        std::vector<double>{9.0, 4.0, 64.0, 3.0});
  CHECK(values(jvp([](const auto& in) { return minimum(in[0], in[1]); }, {a, b}, {ta, tb})) ==
        std::vector<double>{9.0, 32.0, 8.0, 3.0});
}

TEST_CASE("forward AD: cumprod and prod with zeros: the tangent of the products, one zero or several") {
  const Tensor x = tensor({2.0, 0.0, 3.0, 0.0, 5.0, 0.0, 2.0, 3.0, 4.0, 5.0}, {2, 5}, kFloat64);
  const Tensor t = tensor({1.0, 10.0, 100.0, 1000.0, 10000.0, 1.0, 10.0, 100.0, 1000.0, 10000.0}, {2, 5}, kFloat64);
  // row 0: d(2), d(2 * 0) = 2 * 10, d(2 * 0 * 3) = 2 * 10 * 3, then two zeros: 0; row 1: t0 times the rest
  CHECK(values(jvp([](const auto& in) { return cumprod(in[0], 1); }, {x}, {t})) ==
        std::vector<double>{1.0, 20.0, 60.0, 0.0, 0.0, 1.0, 2.0, 6.0, 24.0, 120.0});
  CHECK(values(jvp([](const auto& in) { return prod(in[0], 1); }, {x}, {t})) == std::vector<double>{0.0, 120.0});
  CHECK(values(jvp([](const auto& in) { return prod(in[0]); }, {x}, {t})) == std::vector<double>{0.0});
  const Tensor one_zero = tensor({2.0, 0.0, 3.0}, {3}, kFloat64);
  CHECK(values(jvp([](const auto& in) { return prod(in[0]); }, {one_zero},
                   {tensor({1.0, 10.0, 100.0}, {3}, kFloat64)})) == std::vector<double>{60.0});
}

TEST_CASE("forward AD: to(dtype) converts the tangent, an integer result has none; clone and where") {
  const Tensor x = tensor({1.5, -2.25, 3.0}, {3}, kFloat64);
  const Tensor v = tensor({0.5, 4.0, -1.0}, {3}, kFloat64);
  {
    fw::dual_level level;
    const Tensor d = fw::make_dual(x, v);
    const Tensor t32 = fw::unpack_dual(d.to(kFloat32)).tangent;
    REQUIRE(t32.defined());
    CHECK(t32.dtype() == kFloat32);
    CHECK(values(t32) == values(v));
    CHECK(values(fw::unpack_dual(d.to(kFloat32).to(kFloat64)).tangent) == values(v));
    CHECK_FALSE(fw::unpack_dual(d.to(kInt64)).tangent.defined());
    CHECK_FALSE(fw::unpack_dual(gt(d, 0.0)).tangent.defined());  // a comparison propagates nothing
    CHECK(values(fw::unpack_dual(clone(d)).tangent) == values(v));
    // where with a tangent on one side: zeros from the other
    const Tensor mask = tensor({1.0, 0.0, 1.0}, {3}, kFloat64);
    CHECK(values(fw::unpack_dual(where(mask, d, 7.0)).tangent) == std::vector<double>{0.5, 0.0, -1.0});
    CHECK(values(fw::unpack_dual(where(mask, ones({2, 3}, kFloat64), d)).tangent) ==
          std::vector<double>{0.0, 4.0, 0.0, 0.0, 4.0, 0.0});
  }
  const Tensor xg = agt::input({2, 3}, 0.4);
  agt::check_gradients([](const auto& in) { return mul(clone(in[0]), in[0]); }, {xg});
}

TEST_CASE("forward AD: reverse over forward equals reverse over reverse (u^T H v) for the rules") {
  const Tensor x = agt::input({2, 3}, 1.0, 0.3, 0.5);  // in (0.2, 0.8): every domain holds
  const Tensor z = agt::input({2, 3}, 2.0, 0.3, 0.5);
  const Tensor w = agt::input({2, 3}, 4.0, 0.3, 0.5);
  const std::vector<std::pair<const char*, Fn>> unary = {
      {"exp", [](const auto& in) { return exp(in[0]); }},
      {"log", [](const auto& in) { return log(in[0]); }},
      {"sqrt", [](const auto& in) { return sqrt(in[0]); }},
      {"abs", [](const auto& in) { return abs(sub(in[0], 0.5)); }},
      {"sigmoid", [](const auto& in) { return sigmoid(in[0]); }},
      {"tanh", [](const auto& in) { return tanh(in[0]); }},
      {"relu", [](const auto& in) { return relu(sub(in[0], 0.5)); }},
      {"leaky_relu", [](const auto& in) { return leaky_relu(sub(in[0], 0.5), 0.1); }},
      {"softplus", [](const auto& in) { return softplus(mul(in[0], in[0]), 2.0, 1.0); }},
      {"clamp", [](const auto& in) { return clamp(mul(in[0], in[0]), 0.1, 0.5); }},
      {"sin", [](const auto& in) { return sin(in[0]); }},
      {"cos", [](const auto& in) { return cos(in[0]); }},
      {"tan", [](const auto& in) { return tan(in[0]); }},
      {"asin", [](const auto& in) { return asin(in[0]); }},
      {"acos", [](const auto& in) { return acos(in[0]); }},
      {"atan", [](const auto& in) { return atan(in[0]); }},
      {"sinh", [](const auto& in) { return sinh(in[0]); }},
      {"cosh", [](const auto& in) { return cosh(in[0]); }},
      {"erf", [](const auto& in) { return erf(in[0]); }},
      {"log1p", [](const auto& in) { return log1p(in[0]); }},
      {"expm1", [](const auto& in) { return expm1(in[0]); }},
      {"log2", [](const auto& in) { return log2(in[0]); }},
      {"log10", [](const auto& in) { return log10(in[0]); }},
      {"rsqrt", [](const auto& in) { return rsqrt(in[0]); }},
      {"reciprocal", [](const auto& in) { return reciprocal(in[0]); }},
      {"floor", [](const auto& in) { return mul(floor(mul(in[0], 4.0)), in[0]); }},
      {"frac", [](const auto& in) { return mul(frac(mul(in[0], 4.0)), in[0]); }},
      {"fmod_scalar", [](const auto& in) { return mul(fmod(in[0], 0.3), in[0]); }},
      {"remainder_scalar", [](const auto& in) { return mul(remainder(in[0], -0.3), in[0]); }},
      {"std", [](const auto& in) { return ag::std(in[0], 1, true, true); }},
      {"std all", [](const auto& in) { return ag::std(in[0]); }},
      {"var", [](const auto& in) { return var(in[0], 0, true, false); }},
      {"sum", [](const auto& in) { return sum(mul(in[0], in[0])); }},
      {"sum_dim", [](const auto& in) { return sum(mul(in[0], in[0]), 1); }},
      {"mean", [](const auto& in) { return mean(exp(in[0])); }},
      {"mean_dim", [](const auto& in) { return mean(exp(in[0]), 0, true); }},
      {"max_dim", [](const auto& in) { return mul(max(in[0], 1).values, sum(in[0], 1)); }},
      {"amin", [](const auto& in) { return exp(amin(in[0], 0)); }},
      {"max", [](const auto& in) { return exp(max(in[0])); }},
      {"logsumexp", [](const auto& in) { return logsumexp(in[0], 1); }},
      {"softmax", [](const auto& in) { return softmax(in[0], 1); }},
      {"log_softmax", [](const auto& in) { return log_softmax(in[0], 0); }},
      {"cumsum", [](const auto& in) { return mul(cumsum(in[0], 1), in[0]); }},
      {"cumprod", [](const auto& in) { return cumprod(in[0], 1); }},
      {"prod", [](const auto& in) { return prod(in[0]); }},
      {"prod_dim", [](const auto& in) { return prod(in[0], 0, false); }},
      {"tanh_backward", [](const auto& in) { return tanh_backward(exp(in[0]), tanh(in[0])); }},
      {"sigmoid_backward", [](const auto& in) { return sigmoid_backward(exp(in[0]), sigmoid(in[0])); }},
      {"threshold_backward", [](const auto& in) { return threshold_backward(exp(in[0]), sub(in[0], 0.5), 0.0); }},
  };
  for (const auto& [name, f] : unary) {
    INFO(std::string(name));
    check_reverse_over_forward(f, {x});
  }
  const std::vector<std::pair<const char*, Fn>> nary = {
      {"atan2", [](const auto& in) { return atan2(in[0], in[1]); }},
      {"fmod", [](const auto& in) { return mul(fmod(in[0], mul(in[1], 0.5)), in[1]); }},
      {"remainder", [](const auto& in) { return mul(remainder(in[0], mul(in[1], -0.5)), in[1]); }},
      {"maximum", [](const auto& in) { return mul(maximum(in[0], in[1]), in[0]); }},
      {"minimum", [](const auto& in) { return exp(minimum(in[0], in[1])); }},
      {"lerp", [](const auto& in) { return lerp(in[0], in[1], in[2]); }},
      {"lerp_scalar", [](const auto& in) { return mul(lerp(in[0], in[1], 0.3), in[2]); }},
      {"addcmul", [](const auto& in) { return addcmul(in[0], in[1], in[2], 0.5); }},
      {"addcdiv", [](const auto& in) { return addcdiv(in[0], in[1], in[2], 0.5); }},
      {"where", [](const auto& in) { return mul(where(gt(in[0], 0.5), in[1], in[2]), in[0]); }},
      {"tanh_backward", [](const auto& in) { return tanh_backward(in[0], tanh(in[1])); }},
      {"sigmoid_backward", [](const auto& in) { return sigmoid_backward(mul(in[0], in[1]), sigmoid(in[1])); }},
  };
  for (const auto& [name, f] : nary) {
    INFO(std::string(name));
    check_reverse_over_forward(f, {x, z, w});
  }
  check_reverse_over_forward([](const auto& in) { return exp(addmm(in[0], in[1], in[2], 0.5, 2.0)); },
                             {agt::input({2, 1}, 5.0, 0.3), agt::input({2, 3}, 6.0, 0.3),
                              agt::input({3, 4}, 7.0, 0.3)});
}

TEST_CASE("forward AD: forward over reverse: the VJPs' ops, the backward ops among them, propagate H v") {
  const Tensor x = agt::input({2, 3}, 1.0, 0.3, 0.5);
  // x used once in each: the engine's in-place gradient accumulation (engine.cpp, accumulate) does not
  // carry tangents yet; cumprod's VJP goes through index_select (whose rule is in another file).
  const std::vector<std::pair<const char*, Fn>> fns = {
      {"tanh", [](const auto& in) { return tanh(in[0]); }},
      {"sigmoid", [](const auto& in) { return sigmoid(in[0]); }},
      {"relu", [](const auto& in) { return relu(sub(in[0], 0.5)); }},
      {"softplus", [](const auto& in) { return softplus(in[0], 3.0, 1.0); }},
      {"log", [](const auto& in) { return log(in[0]); }},
      {"sqrt", [](const auto& in) { return sqrt(in[0]); }},
      {"sin", [](const auto& in) { return sin(in[0]); }},
      {"atan", [](const auto& in) { return atan(in[0]); }},
      {"rsqrt", [](const auto& in) { return rsqrt(in[0]); }},
      {"softmax", [](const auto& in) { return softmax(in[0], 1); }},
      {"log_softmax", [](const auto& in) { return log_softmax(in[0], 1); }},
      {"prod_dim", [](const auto& in) { return prod(in[0], 1, true); }},
  };
  for (const auto& [name, f] : fns) {
    INFO(std::string(name));
    check_forward_over_reverse(f, x);
  }
}

TEST_CASE("forward AD: gradcheck with forward mode of the overloads and options of these ops") {
  const Tensor x = agt::input({2, 3}, 1.0, 0.3, 0.5);
  const Tensor z = agt::input({2, 3}, 2.0, 0.3, 0.5);
  const Tensor s = agt::input({}, 0.5, 0.3, 0.5);  // 0-d
  const std::vector<std::pair<const char*, Fn>> fns = {
      {"fmod scalar", [](const auto& in) { return mul(fmod(in[0], 0.3), in[1]); }},
      {"remainder scalar", [](const auto& in) { return mul(remainder(in[0], -0.3), in[1]); }},
      {"clamp_min/max", [](const auto& in) { return add(clamp_min(in[0], 0.4), clamp_max(in[1], 0.6)); }},
      {"lerp scalar", [](const auto& in) { return lerp(in[0], in[1], 0.7); }},
      {"lerp broadcast", [](const auto& in) { return lerp(in[0], sum(in[1], 0), sum(in[1], 1, true)); }},
      {"addcmul broadcast", [](const auto& in) { return addcmul(sum(in[1], 0), in[0], sum(in[1], 1, true), -0.5); }},
      {"addcdiv broadcast", [](const auto& in) { return addcdiv(sum(in[1], 1, true), in[0], sum(in[1], 0), 2.0); }},
      {"atan2 broadcast", [](const auto& in) { return atan2(in[0], sum(in[1], 0)); }},
      {"maximum broadcast", [](const auto& in) { return maximum(in[0], sum(in[1], 1, true)); }},
      {"where scalars",
       [](const auto& in) { return add(where(gt(in[0], 0.5), in[1], 2.0), where(gt(in[1], 0.5), 2.0, in[0])); }},
      {"where broadcast", [](const auto& in) { return where(gt(in[1], 0.5), sum(in[0], 0), sum(in[1], 1, true)); }},
      {"std all", [](const auto& in) { return mul(ag::std(in[0]), in[1]); }},
      {"std correction",
       [](const auto& in) {
         return ag::std(in[0], std::optional<std::int64_t>{0}, std::optional<double>{0.0}, false);
       }},
      {"var", [](const auto& in) { return var(in[0], 1, false, false); }},
      {"sum/mean all", [](const auto& in) { return mul(sum(in[0]), mean(in[1])); }},
      {"mean keepdim", [](const auto& in) { return mean(mul(in[0], in[1]), -1, true); }},
      {"max/min all", [](const auto& in) { return mul(max(in[0]), min(in[1])); }},
      {"amin keepdim", [](const auto& in) { return amin(in[0], 0, true); }},
      {"min dim", [](const auto& in) { return min(in[0], 0).values; }},
      {"logsumexp", [](const auto& in) { return add(logsumexp(in[0], 0, true), logsumexp(in[1], 1, true)); }},
      {"prod", [](const auto& in) { return mul(prod(in[0]), prod(in[1], 1, false)); }},
  };
  for (const auto& [name, f] : fns) {
    INFO(std::string(name));
    agt::check_gradients(f, {x, z});
  }
  // 0-d inputs
  agt::check_gradients(
      [](const auto& in) {
        return add(add(cumsum(in[0], 0), cumprod(in[0], -1)), add(sum(in[0], 0), mean(in[0], 0, true)));
      },
      {s});
  agt::check_gradients(
      [](const auto& in) { return add(softmax(in[0], 0), add(log_softmax(in[0], 0), logsumexp(in[0], 0))); }, {s});
  agt::check_gradients([](const auto& in) { return add(max(in[0], 0).values, add(amax(in[0], 0), prod(in[0], 0))); },
                       {s});
  // addmm: beta = 0 ignores self
  const Tensor m1 = agt::input({2, 3}, 6.0, 0.3), m2 = agt::input({3, 4}, 7.0, 0.3), self = agt::input({4}, 5.0, 0.3);
  agt::check_gradients([](const auto& in) { return addmm(in[0], in[1], in[2], 0.5, 2.0); }, {self, m1, m2});
  agt::check_gradients([](const auto& in) { return addmm(in[0], in[1], in[2], 0.0, 1.0); }, {self, m1, m2});
}
