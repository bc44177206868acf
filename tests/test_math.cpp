// The pointwise and binary math set of autograd/ops/math.h: values, first and second derivatives
// (float64 gradcheck / gradgradcheck, inputs away from kinks and singularities), PyTorch's conventions
// (rounding, signs of remainders, NaN, ties), and errors naming the op. PyTorch parity of values and
// gradients: tests/test_math_parity.cpp.
#include <cmath>
#include <concepts>
#include <limits>
#include <numbers>

#include "test_util.h"

using namespace ag;

namespace {

using UnOp = std::function<Tensor(const Tensor&)>;
using BinOp = std::function<Tensor(const Tensor&, const Tensor&)>;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

void check_both(const UnOp& op, const Tensor& x) {
  const GradcheckFn fn = [op](const std::vector<Tensor>& in) { return op(in[0]); };
  agt::check_gradients(fn, {x});
  agt::check_second_gradients(fn, {x});
}

void check_both(const GradcheckFn& fn, const std::vector<Tensor>& xs) {
  agt::check_gradients(fn, xs);
  agt::check_second_gradients(fn, xs);
}

/// op(x) elementwise against ref, for float32 and float64.
void check_unary_values(const UnOp& op, double (*ref)(double), const std::vector<double>& xs) {
  for (Dtype dt : {kFloat64, kFloat32}) {
    const Tensor y = op(tensor(xs, {static_cast<std::int64_t>(xs.size())}, dt));
    CHECK(y.dtype() == dt);
    const auto v = y.to_vector<double>();
    for (std::size_t i = 0; i < xs.size(); ++i) {
      INFO("x = " << xs[i] << ", dtype " << dtype_name(dt));
      CHECK(v[i] == doctest::Approx(ref(xs[i])).epsilon(dt == kFloat64 ? 1e-14 : 1e-6));
    }
  }
}

/// The gradient of sum(op(x)) at x.
std::vector<double> grad_of_sum(const UnOp& op, const std::vector<double>& xs) {
  Tensor x = tensor(xs, {static_cast<std::int64_t>(xs.size())}, kFloat64).requires_grad_();
  sum(op(x)).backward();
  REQUIRE(x.grad().defined());
  return x.grad().to_vector<double>();
}

void check_error(const std::function<void()>& f, const std::string& needle) {
  const std::string msg = agt::error_message(f);
  INFO("message: " << msg);
  CHECK(msg.find(needle) != std::string::npos);
}

Tensor f64(std::initializer_list<double> v, const Shape& shape = {}) { return tensor(v, shape, kFloat64); }

}  // namespace

// ---- trigonometric, hyperbolic, exponential, logarithmic ---------------------------------------------

TEST_CASE("math: trigonometric and hyperbolic values") {
  const std::vector<double> xs{-2.0, -0.5, 0.0, 0.3, 1.0, 2.5};
  check_unary_values([](const Tensor& t) { return sin(t); }, [](double v) { return std::sin(v); }, xs);
  check_unary_values([](const Tensor& t) { return cos(t); }, [](double v) { return std::cos(v); }, xs);
  check_unary_values([](const Tensor& t) { return tan(t); }, [](double v) { return std::tan(v); }, xs);
  check_unary_values([](const Tensor& t) { return atan(t); }, [](double v) { return std::atan(v); }, xs);
  check_unary_values([](const Tensor& t) { return sinh(t); }, [](double v) { return std::sinh(v); }, xs);
  check_unary_values([](const Tensor& t) { return cosh(t); }, [](double v) { return std::cosh(v); }, xs);
  const std::vector<double> unit{-1.0, -0.7, 0.0, 0.2, 0.9, 1.0};
  check_unary_values([](const Tensor& t) { return asin(t); }, [](double v) { return std::asin(v); }, unit);
  check_unary_values([](const Tensor& t) { return acos(t); }, [](double v) { return std::acos(v); }, unit);
  CHECK(std::isnan(asin(f64({1.5})).item<double>()));
  CHECK(std::isnan(acos(f64({-1.5})).item<double>()));
  agt::check_values(atan2(f64({1.0, -1.0, 0.0, 2.0}, {4}), f64({1.0, -1.0, -1.0, 0.0}, {4})),
                    {std::numbers::pi / 4, -3 * std::numbers::pi / 4, std::numbers::pi, std::numbers::pi / 2});
  // broadcasting [2,1] against [3]
  const Tensor y = atan2(f64({1.0, 2.0}, {2, 1}), f64({1.0, 2.0, 4.0}, {3}));
  CHECK(y.shape() == Shape{2, 3});
  agt::check_values(y, {std::atan2(1.0, 1.0), std::atan2(1.0, 2.0), std::atan2(1.0, 4.0), std::atan2(2.0, 1.0),
                        std::atan2(2.0, 2.0), std::atan2(2.0, 4.0)});
}

TEST_CASE("math: trigonometric and hyperbolic gradients, first and second order") {
  const std::vector<double> xs{-1.2, -0.4, 0.1, 0.8};
  {
    const auto g = grad_of_sum([](const Tensor& t) { return sin(t); }, xs);
    for (std::size_t i = 0; i < xs.size(); ++i) CHECK(g[i] == doctest::Approx(std::cos(xs[i])));
  }
  {
    const auto g = grad_of_sum([](const Tensor& t) { return tan(t); }, xs);
    for (std::size_t i = 0; i < xs.size(); ++i)
      CHECK(g[i] == doctest::Approx(1.0 / (std::cos(xs[i]) * std::cos(xs[i]))));
  }
  {
    const auto g = grad_of_sum([](const Tensor& t) { return acos(t); }, {-0.5, 0.5});
    CHECK(g[0] == doctest::Approx(-1.0 / std::sqrt(0.75)));
    CHECK(g[1] == doctest::Approx(-1.0 / std::sqrt(0.75)));
  }
  const Tensor x = agt::input({2, 3});
  const Tensor unit = agt::input({2, 3}, 1.0, 0.8);  // within (-1, 1)
  check_both([](const Tensor& t) { return sin(t); }, x);
  check_both([](const Tensor& t) { return cos(t); }, x);
  check_both([](const Tensor& t) { return tan(t); }, x);
  check_both([](const Tensor& t) { return asin(t); }, unit);
  check_both([](const Tensor& t) { return acos(t); }, unit);
  check_both([](const Tensor& t) { return atan(t); }, agt::input({2, 3}, 1.0, 3.0));
  check_both([](const Tensor& t) { return sinh(t); }, x);
  check_both([](const Tensor& t) { return cosh(t); }, x);
  check_both([](const Tensor& t) { return sin(t); }, scalar_tensor(0.7, kFloat64).requires_grad_());
  // atan2 with broadcasting both ways; b away from the origin's neighbourhood
  check_both([](const std::vector<Tensor>& in) { return atan2(in[0], in[1]); },
             {agt::input({2, 3}), agt::input({3}, 2.0, 0.5, 1.5)});
  check_both([](const std::vector<Tensor>& in) { return atan2(in[0], in[1]); },
             {agt::input({2, 1}, 3.0), agt::input({1, 3}, 2.0)});
}

TEST_CASE("math: exponential, logarithmic and power functions") {
  check_unary_values([](const Tensor& t) { return erf(t); }, [](double v) { return std::erf(v); },
                     {-3.0, -0.5, 0.0, 0.7, 2.0});
  check_unary_values([](const Tensor& t) { return log1p(t); }, [](double v) { return std::log1p(v); },
                     {-0.5, 0.0, 1e-10, 3.0});
  check_unary_values([](const Tensor& t) { return expm1(t); }, [](double v) { return std::expm1(v); },
                     {-2.0, 0.0, 1e-10, 1.5});
  check_unary_values([](const Tensor& t) { return log2(t); }, [](double v) { return std::log2(v); },
                     {0.25, 1.0, 8.0, 10.0});
  check_unary_values([](const Tensor& t) { return log10(t); }, [](double v) { return std::log10(v); },
                     {0.01, 1.0, 1000.0, 7.0});
  check_unary_values([](const Tensor& t) { return rsqrt(t); }, [](double v) { return 1.0 / std::sqrt(v); },
                     {0.25, 1.0, 4.0, 7.0});
  check_unary_values([](const Tensor& t) { return reciprocal(t); }, [](double v) { return 1.0 / v; },
                     {-4.0, 0.5, 1.0, 3.0});
  CHECK(expm1(f64({1e-12})).item<double>() == doctest::Approx(1e-12).epsilon(1e-12));  // accurate near 0
  CHECK(log1p(f64({-1.0})).item<double>() == -kInf);
  CHECK(reciprocal(f64({0.0})).item<double>() == kInf);
  CHECK(rsqrt(f64({0.0})).item<double>() == kInf);
  CHECK(std::isnan(rsqrt(f64({-1.0})).item<double>()));

  {
    const auto g = grad_of_sum([](const Tensor& t) { return erf(t); }, {0.0, 1.0});
    CHECK(g[0] == doctest::Approx(2.0 / std::sqrt(std::numbers::pi)));
    CHECK(g[1] == doctest::Approx(2.0 / std::sqrt(std::numbers::pi) * std::exp(-1.0)));
  }
  {
    const auto g = grad_of_sum([](const Tensor& t) { return log2(t); }, {2.0});
    CHECK(g[0] == doctest::Approx(1.0 / (2.0 * std::log(2.0))));
    const auto h = grad_of_sum([](const Tensor& t) { return rsqrt(t); }, {4.0});
    CHECK(h[0] == doctest::Approx(-0.5 / 8.0));
    const auto r = grad_of_sum([](const Tensor& t) { return reciprocal(t); }, {-2.0});
    CHECK(r[0] == doctest::Approx(-0.25));
  }
  const Tensor x = agt::input({2, 3});
  const Tensor pos = agt::input({2, 3}, 0.4, 0.5, 1.5);  // in [1, 2]
  check_both([](const Tensor& t) { return erf(t); }, x);
  check_both([](const Tensor& t) { return log1p(t); }, agt::input({2, 3}, 2.0, 0.5));
  check_both([](const Tensor& t) { return expm1(t); }, x);
  check_both([](const Tensor& t) { return log2(t); }, pos);
  check_both([](const Tensor& t) { return log10(t); }, pos);
  check_both([](const Tensor& t) { return rsqrt(t); }, pos);
  check_both([](const Tensor& t) { return reciprocal(t); }, pos);
  check_both([](const Tensor& t) { return reciprocal(t); }, agt::input({3}, 1.0, 0.5, -1.5));  // negative
}

// ---- rounding and sign ---------------------------------------------------------------------------------

TEST_CASE("math: rounding and sign follow PyTorch") {
  const Tensor x = f64({-2.5, -1.5, -0.5, -0.2, 0.0, 0.5, 1.5, 2.5, 2.7}, {9});
  agt::check_values(floor(x), {-3, -2, -1, -1, 0, 0, 1, 2, 2});
  agt::check_values(ceil(x), {-2, -1, -0.0, -0.0, 0, 1, 2, 3, 3});
  agt::check_values(round(x), {-2, -2, -0.0, -0.0, 0, 0, 2, 2, 3});  // halves to even, as torch.round
  agt::check_values(trunc(x), {-2, -1, -0.0, -0.0, 0, 0, 1, 2, 2});
  agt::check_values(frac(x), {-0.5, -0.5, -0.5, -0.2, 0, 0.5, 0.5, 0.5, 0.7}, 1e-14);
  agt::check_values(sign(x), {-1, -1, -1, -1, 0, 1, 1, 1, 1});
  CHECK(std::signbit(round(f64({-0.4})).item<double>()));
  // sign(NaN) = 0 and sign(-0) = 0, as PyTorch 1.13's CPU kernel; NaN stays NaN through the others
  agt::check_values(sign(f64({kNaN, -0.0, kInf, -kInf}, {4})), {0, 0, 1, -1});
  for (const auto& op :
       std::vector<UnOp>{[](const Tensor& t) { return floor(t); }, [](const Tensor& t) { return ceil(t); },
                         [](const Tensor& t) { return round(t); }, [](const Tensor& t) { return trunc(t); },
                         [](const Tensor& t) { return frac(t); }})
    CHECK(std::isnan(op(f64({kNaN})).item<double>()));
  // decimals, as torch.round(x, decimals=d)
  agt::check_values(round(f64({1.2345, -0.125, 2.5, 1234.5}, {4}), 2), {1.23, -0.12, 2.5, 1234.5});
  agt::check_values(round(f64({1250.0, 1350.0, -149.0, 0.0}, {4}), -2), {1200.0, 1400.0, -100.0, 0.0});
  agt::check_values(round(f64({0.5, 1.5}, {2}), 0), {0.0, 2.0});
  CHECK(round(tensor({2.5}, {1}, kFloat32)).dtype() == kFloat32);
}

TEST_CASE("math: rounding and sign have zero gradients, frac gradient 1") {
  const std::vector<double> xs{-1.7, -0.2, 0.4, 2.5};
  for (const auto& op :
       std::vector<UnOp>{[](const Tensor& t) { return floor(t); }, [](const Tensor& t) { return ceil(t); },
                         [](const Tensor& t) { return round(t); }, [](const Tensor& t) { return trunc(t); },
                         [](const Tensor& t) { return sign(t); }, [](const Tensor& t) { return round(t, 1); }}) {
    const auto g = grad_of_sum(op, xs);
    for (double v : g) CHECK(v == 0.0);
  }
  const auto g = grad_of_sum([](const Tensor& t) { return frac(t); }, xs);
  for (double v : g) CHECK(v == 1.0);
  // composed with smooth ops; inputs away from integers (and from 0 for sign)
  const Tensor x = agt::input({2, 3}, 1.0, 0.3, 2.1);
  check_both([](const Tensor& t) { return floor(t) * t + ceil(t) + round(t) * sin(t) + trunc(t); }, x);
  check_both([](const Tensor& t) { return sign(t) * square(t) + frac(t * 3.0) * t; },
             agt::input({2, 3}, 1.0, 1.0, 0.05));
}

// ---- remainders ------------------------------------------------------------------------------------------

TEST_CASE("math: fmod keeps the dividend's sign, remainder the divisor's") {
  const Tensor a = f64({5, -5, 5, -5, 5.5, 1}, {6});
  const Tensor b = f64({3, 3, -3, -3, 2, 0}, {6});
  const auto fm = fmod(a, b).to_vector<double>();
  const auto rm = remainder(a, b).to_vector<double>();
  const std::vector<double> want_fm{2, -2, 2, -2, 1.5}, want_rm{2, 1, -1, -2, 1.5};
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(fm[i] == want_fm[i]);
    CHECK(rm[i] == want_rm[i]);
  }
  CHECK(std::isnan(fm[5]));  // division by zero: NaN, as torch for floating tensors
  CHECK(std::isnan(rm[5]));
  agt::check_values(fmod(f64({-7.5, 7.5}, {2}), 2.0), {-1.5, 1.5});
  agt::check_values(remainder(f64({-7.5, 7.5}, {2}), 2.0), {0.5, 1.5});
  agt::check_values(remainder(f64({-7.5, 7.5}, {2}), -2.0), {-1.5, -0.5});
  // broadcasting
  const Tensor y = remainder(f64({-1, 4}, {2, 1}), f64({3, -3}, {2}));
  CHECK(y.shape() == Shape{2, 2});
  agt::check_values(y, {2, -1, 1, -2});
}

TEST_CASE("math: fmod and remainder gradients") {
  // d/da = 1, d/db = -trunc(a/b) (fmod) or -floor(a/b) (remainder)
  Tensor a = f64({7.0, -7.0}, {2}).requires_grad_();
  Tensor b = f64({2.0, 2.0}, {2}).requires_grad_();
  sum(fmod(a, b)).backward();
  agt::check_values(a.grad(), {1, 1});
  agt::check_values(b.grad(), {-3, 3});
  a.set_grad(Tensor());
  b.set_grad(Tensor());
  sum(remainder(a, b)).backward();
  agt::check_values(a.grad(), {1, 1});
  agt::check_values(b.grad(), {-3, 4});
  // away from the jumps (a/b not near an integer)
  const Tensor num = agt::input({2, 3}, 1.0, 4.0);
  const Tensor den = agt::input({3}, 2.0, 0.3, 1.7);
  check_both([](const std::vector<Tensor>& in) { return fmod(in[0], in[1]) * in[0]; }, {num, den});
  check_both([](const std::vector<Tensor>& in) { return remainder(in[0], neg(in[1])) * in[1]; }, {num, den});
  check_both([](const Tensor& t) { return fmod(t, 1.3) * t; }, num);
  check_both([](const Tensor& t) { return remainder(t, -1.3) * t; }, num);
}

// ---- maximum, minimum --------------------------------------------------------------------------------------

TEST_CASE("math: maximum and minimum values, NaN and broadcasting") {
  const Tensor a = f64({1, 5, -2, kNaN, 3}, {5});
  const Tensor b = f64({2, 4, -2, 0, kNaN}, {5});
  const auto mx = maximum(a, b).to_vector<double>();
  const auto mn = minimum(a, b).to_vector<double>();
  CHECK(mx[0] == 2);
  CHECK(mx[1] == 5);
  CHECK(mx[2] == -2);
  CHECK(std::isnan(mx[3]));
  CHECK(std::isnan(mx[4]));
  CHECK(mn[0] == 1);
  CHECK(mn[1] == 4);
  CHECK(mn[2] == -2);
  CHECK(std::isnan(mn[3]));
  CHECK(std::isnan(mn[4]));
  const Tensor y = maximum(f64({0.0, 3.0}, {2, 1}), f64({1.0, 2.0, 4.0}, {3}));
  CHECK(y.shape() == Shape{2, 3});
  agt::check_values(y, {1, 2, 4, 3, 3, 4});
}

TEST_CASE("math: maximum and minimum gradients split ties in halves and go to both inputs at NaN") {
  // as PyTorch: where(a == b, g/2, g).masked_fill_(a < b, 0) for a (maximum)
  Tensor a = f64({1, 5, -2, kNaN}, {4}).requires_grad_();
  Tensor b = f64({2, 4, -2, 0}, {4}).requires_grad_();
  sum(maximum(a, b)).backward();
  agt::check_values(a.grad(), {0, 1, 0.5, 1});
  agt::check_values(b.grad(), {1, 0, 0.5, 1});
  a.set_grad(Tensor());
  b.set_grad(Tensor());
  sum(minimum(a, b)).backward();
  agt::check_values(a.grad(), {1, 0, 0.5, 1});
  agt::check_values(b.grad(), {0, 1, 0.5, 1});
  // broadcast: the gradient of b[3] sums over the rows
  Tensor p = f64({0, 0, 0, 9, 9, 9}, {2, 3}).requires_grad_();
  Tensor q = f64({1, 2, 3}, {3}).requires_grad_();
  sum(maximum(p, q)).backward();
  agt::check_values(q.grad(), {1, 1, 1});
  agt::check_values(p.grad(), {0, 0, 0, 1, 1, 1});
  const Tensor u = agt::input({2, 3}, 1.0), v = agt::input({3}, 2.5);  // no ties
  check_both([](const std::vector<Tensor>& in) { return maximum(in[0], in[1]) * in[0]; }, {u, v});
  check_both([](const std::vector<Tensor>& in) { return minimum(in[0], in[1]) * in[1]; }, {u, v});
}

// ---- lerp, addcmul, addcdiv ------------------------------------------------------------------------------------

TEST_CASE("math: lerp values, broadcasting and gradients") {
  const Tensor s = f64({0, 10, -4}, {3});
  const Tensor e = f64({2, 20, 4}, {3});
  agt::check_values(lerp(s, e, 0.25), {0.5, 12.5, -2});
  agt::check_values(lerp(s, e, 0.75), {1.5, 17.5, 2});
  agt::check_values(lerp(s, e, f64({0.0, 1.0, 0.5}, {3})), {0, 20, 0});
  CHECK(lerp(s, e, 1.0).to_vector<double>() == e.to_vector<double>());  // exact at weight 1 (torch's formula)
  const Tensor y = lerp(f64({0, 1}, {2, 1}), f64({10}, {1}), f64({0.1, 0.9}, {2}));
  CHECK(y.shape() == Shape{2, 2});
  agt::check_values(y, {1, 9, 1.9, 9.1});
  Tensor a = f64({1, 2}, {2}).requires_grad_();
  Tensor b = f64({5, 8}, {2}).requires_grad_();
  Tensor w = f64({0.25, 0.75}, {2}).requires_grad_();
  sum(lerp(a, b, w)).backward();
  agt::check_values(a.grad(), {0.75, 0.25});
  agt::check_values(b.grad(), {0.25, 0.75});
  agt::check_values(w.grad(), {4, 6});
  check_both([](const std::vector<Tensor>& in) { return lerp(in[0], in[1], in[2]) * in[2]; },
             {agt::input({2, 3}), agt::input({3}, 2.0), agt::input({2, 1}, 3.0)});
  check_both([](const std::vector<Tensor>& in) { return square(lerp(in[0], in[1], 0.3)) + lerp(in[1], in[0], 0.8); },
             {agt::input({2, 3}), agt::input({3}, 2.0)});
}

TEST_CASE("math: addcmul and addcdiv values, broadcasting and gradients") {
  const Tensor s = f64({1, 2, 3}, {3});
  const Tensor t1 = f64({2, 4, 6, 8, 10, 12}, {2, 3});
  const Tensor t2 = f64({2, 4}, {2, 1});
  Tensor y = addcmul(s, t1, t2, 0.5);
  CHECK(y.shape() == Shape{2, 3});
  agt::check_values(y, {3, 6, 9, 17, 22, 27});
  agt::check_values(addcmul(s, s, s), {2, 6, 12});
  agt::check_values(addcdiv(s, t1, t2, 2.0), {3, 6, 9, 5, 7, 9});
  agt::check_values(addcdiv(s, s, s), {2, 3, 4});
  const Tensor self = agt::input({3}), a = agt::input({2, 3}, 2.0), b = agt::input({2, 1}, 3.0);
  const Tensor pos = agt::input({2, 1}, 3.0, 0.5, 1.5);
  check_both([](const std::vector<Tensor>& in) { return addcmul(in[0], in[1], in[2], -1.5) * in[1]; }, {self, a, b});
  check_both([](const std::vector<Tensor>& in) { return addcdiv(in[0], in[1], in[2], 0.7) * in[1]; }, {self, a, pos});
}

// ---- small matrix products ------------------------------------------------------------------------------------

TEST_CASE("math: bmm, addmm, outer, dot values") {
  const Tensor a = f64({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2});
  const Tensor b = f64({1, 0, 0, 1, 2, 0, 0, 2}, {2, 2, 2});
  agt::check_values(bmm(a, b), {1, 2, 3, 4, 10, 12, 14, 16});
  agt::check_values(mm(f64({1, 2, 3, 4}, {2, 2}), f64({1, 1, 0, 1}, {2, 2})), {1, 3, 3, 7});
  const Tensor m1 = f64({1, 2, 3, 4}, {2, 2});
  const Tensor m2 = f64({1, 1, 0, 1}, {2, 2});
  agt::check_values(addmm(f64({10, 20}, {2}), m1, m2), {11, 23, 13, 27});
  agt::check_values(addmm(f64({10, 20}, {2}), m1, m2, 0.5, 2.0), {7, 16, 11, 24});
  agt::check_values(addmm(f64({1, 2, 3, 4}, {2, 2}), m1, m2, 1.0, -1.0), {0, -1, 0, -3});
  agt::check_values(addmm(f64({100}, {1, 1}), m1, m2), {101, 103, 103, 107});
  // beta = 0: self is ignored, NaN included (as torch)
  agt::check_values(addmm(f64({kNaN, kNaN}, {2}), m1, m2, 0.0, 1.0), {1, 3, 3, 7});
  const Tensor o = outer(f64({1, 2}, {2}), f64({3, 4, 5}, {3}));
  CHECK(o.shape() == Shape{2, 3});
  agt::check_values(o, {3, 4, 5, 6, 8, 10});
  const Tensor d = dot(f64({1, 2, 3}, {3}), f64({4, 5, 6}, {3}));
  CHECK(d.dim() == 0);
  CHECK(d.item<double>() == 32);
  CHECK(dot(zeros({0}, kFloat64), zeros({0}, kFloat64)).item<double>() == 0);
}

TEST_CASE("math: bmm, addmm, outer, dot gradients") {
  check_both([](const std::vector<Tensor>& in) { return mm(in[0], in[1]); },
             {agt::input({2, 3}), agt::input({3, 4}, 2.0)});
  check_both([](const std::vector<Tensor>& in) { return bmm(in[0], in[1]); },
             {agt::input({2, 3, 4}), agt::input({2, 4, 2}, 2.0)});
  check_both([](const std::vector<Tensor>& in) { return addmm(in[0], in[1], in[2], 0.5, -2.0); },
             {agt::input({3}), agt::input({2, 4}, 2.0), agt::input({4, 3}, 3.0)});
  check_both([](const std::vector<Tensor>& in) { return addmm(in[0], in[1], in[2]); },
             {agt::input({2, 1}), agt::input({2, 4}, 2.0), agt::input({4, 3}, 3.0)});
  check_both([](const std::vector<Tensor>& in) { return square(addmm(in[0], in[1], in[2], 0.0, 1.0)); },
             {agt::input({2, 3}), agt::input({2, 4}, 2.0), agt::input({4, 3}, 3.0)});
  check_both([](const std::vector<Tensor>& in) { return outer(in[0], in[1]) * outer(in[0], in[0] * 2.0); },
             {agt::input({3}), agt::input({3}, 2.0)});
  check_both([](const std::vector<Tensor>& in) { return square(dot(in[0], in[1])); },
             {agt::input({4}), agt::input({4}, 2.0)});
  // addmm with beta = 0 still gives self a (zero) gradient, as torch
  Tensor self = f64({1, 2}, {2}).requires_grad_();
  Tensor m = f64({1, 2, 3, 4}, {2, 2}).requires_grad_();
  sum(addmm(self, m, m, 0.0, 3.0)).backward();
  agt::check_values(self.grad(), {0, 0});
  agt::check_values(m.grad(), {3 * (1 + 2) + 3 * (1 + 3), 3 * (3 + 4) + 3 * (1 + 3), 3 * (1 + 2) + 3 * (2 + 4),
                               3 * (3 + 4) + 3 * (2 + 4)});
}

// ---- var, std ------------------------------------------------------------------------------------------

TEST_CASE("math: var and std values") {
  const Tensor x = f64({1, 2, 3, 4, 2, 2, 2, 8}, {2, 4});
  CHECK(var(x).item<double>() == doctest::Approx(34.0 / 7.0));  // mean 3, sum of squares 34
  CHECK(var(x, false).item<double>() == doctest::Approx(4.25));
  CHECK(ag::std(x).item<double>() == doctest::Approx(std::sqrt(34.0 / 7.0)));
  agt::check_values(var(x, 1), {5.0 / 3.0, 9.0});
  agt::check_values(var(x, -1, false), {1.25, 6.75});
  agt::check_values(ag::std(x, 0, false), {0.5, 0, 0.5, 2});
  CHECK(var(x, 1, true, true).shape() == Shape{2, 1});
  CHECK(var(x, 0).shape() == Shape{4});
  // the correction overload (std::optional arguments): dim nullopt = all elements, correction nullopt = 1
  CHECK(var(x, std::nullopt, std::optional<double>(0.0)).item<double>() == doctest::Approx(4.25));
  CHECK(var(x, std::nullopt, std::nullopt).item<double>() == doctest::Approx(34.0 / 7.0));
  CHECK(var(x, std::nullopt, std::optional<double>(2.0), true).shape() == Shape{1, 1});
  CHECK(var(x, std::nullopt, std::optional<double>(2.0), true).item<double>() == doctest::Approx(34.0 / 6.0));
  agt::check_values(var(x, std::optional<std::int64_t>(1), std::optional<double>(2.0)), {2.5, 13.5});
  agt::check_values(ag::std(x, std::optional<std::int64_t>(1), std::optional<double>(0.0)),
                    {std::sqrt(1.25), std::sqrt(6.75)});
  // fewer elements than the correction: NaN over one element (0/0), as torch
  CHECK(std::isnan(var(f64({3.0}, {1})).item<double>()));
  CHECK(std::isnan(ag::std(f64({3.0}, {1})).item<double>()));
  CHECK(var(f64({3.0}, {1}), false).item<double>() == 0.0);
  CHECK(std::isnan(var(scalar_tensor(2.5, kFloat64)).item<double>()));  // 0-d: one element
  CHECK(var(scalar_tensor(2.5, kFloat64), 0, false).item<double>() == 0);
  CHECK(ag::std(scalar_tensor(2.5, kFloat64), -1, false, true).dim() == 0);
  CHECK(var(tensor({1.0, 3.0}, {2}, kFloat32)).dtype() == kFloat32);
}

// A plain floating number for the correction is refused at compile time (it would pick `unbiased`).
template <class T>
concept VarTakesFloatingCorrection = requires(const T& t) {
  ag::var(t, std::int64_t{1}, 2.0);
};
template <class T>
concept StdTakesFloatingCorrection = requires(const T& t) {
  ag::std(t, std::int64_t{1}, 2.0, false);
};
static_assert(!VarTakesFloatingCorrection<Tensor>);
static_assert(!StdTakesFloatingCorrection<Tensor>);

TEST_CASE("math: var and std gradients") {
  const Tensor x = agt::input({3, 4});
  check_both([](const Tensor& t) { return var(t); }, x);
  check_both([](const Tensor& t) { return var(t, 1); }, x);
  check_both([](const Tensor& t) { return var(t, 0, false, true); }, x);
  check_both([](const Tensor& t) { return var(t, std::nullopt, std::optional<double>(2.0), true); }, x);
  check_both([](const Tensor& t) { return ag::std(t); }, x);
  check_both([](const Tensor& t) { return ag::std(t, 1); }, x);
  check_both([](const Tensor& t) { return ag::std(t, 0, false, true); }, x);
  check_both([](const Tensor& t) { return ag::std(t, std::optional<std::int64_t>(-1), std::optional<double>(0.0)); },
             x);
  check_both([](const Tensor& t) { return var(t, 0, false) + ag::std(t, false); }, agt::input({1}));
  // d var / dx = 2 (x - mean) / (N - 1)
  Tensor v = f64({1, 2, 6}, {3}).requires_grad_();
  var(v).backward();
  agt::check_values(v.grad(), {-2, -1, 3});
  // std of a constant slice: gradient 0 there, not NaN (as torch's std_backward)
  Tensor c = f64({2, 2, 2, 1, 2, 3}, {2, 3}).requires_grad_();
  sum(ag::std(c, 1)).backward();
  agt::check_values(c.grad(), {0, 0, 0, -0.5, 0, 0.5});
}

// ---- errors ------------------------------------------------------------------------------------------------

TEST_CASE("math: misuse throws ag::Error naming the op") {
  const Tensor i = tensor(std::vector<std::int64_t>{1, 2, 3}, {3});
  const Tensor f = f64({1, 2, 3}, {3});
  const Tensor f32 = tensor({1.0, 2.0, 3.0}, {3}, kFloat32);
  const std::vector<std::pair<std::string, UnOp>> unary{
      {"sin", [](const Tensor& t) { return sin(t); }},
      {"cos", [](const Tensor& t) { return cos(t); }},
      {"tan", [](const Tensor& t) { return tan(t); }},
      {"asin", [](const Tensor& t) { return asin(t); }},
      {"acos", [](const Tensor& t) { return acos(t); }},
      {"atan", [](const Tensor& t) { return atan(t); }},
      {"sinh", [](const Tensor& t) { return sinh(t); }},
      {"cosh", [](const Tensor& t) { return cosh(t); }},
      {"erf", [](const Tensor& t) { return erf(t); }},
      {"log1p", [](const Tensor& t) { return log1p(t); }},
      {"expm1", [](const Tensor& t) { return expm1(t); }},
      {"log2", [](const Tensor& t) { return log2(t); }},
      {"log10", [](const Tensor& t) { return log10(t); }},
      {"rsqrt", [](const Tensor& t) { return rsqrt(t); }},
      {"reciprocal", [](const Tensor& t) { return reciprocal(t); }},
      {"sign", [](const Tensor& t) { return sign(t); }},
      {"floor", [](const Tensor& t) { return floor(t); }},
      {"ceil", [](const Tensor& t) { return ceil(t); }},
      {"round", [](const Tensor& t) { return round(t); }},
      {"round", [](const Tensor& t) { return round(t, 2); }},
      {"trunc", [](const Tensor& t) { return trunc(t); }},
      {"frac", [](const Tensor& t) { return frac(t); }},
      {"fmod", [](const Tensor& t) { return fmod(t, 2.0); }},
      {"remainder", [](const Tensor& t) { return remainder(t, 2.0); }},
      {"var", [](const Tensor& t) { return var(t); }},
      {"std", [](const Tensor& t) { return ag::std(t, 0); }},
  };
  for (const auto& [name, op] : unary) {
    INFO("op " << name);
    check_error([&] { op(i); }, name + ": ");
    check_error([&] { op(i); }, "int64");
    check_error([&] { op(Tensor()); }, name);
  }
  const std::vector<std::pair<std::string, BinOp>> binary{
      {"atan2", [](const Tensor& a, const Tensor& b) { return atan2(a, b); }},
      {"fmod", [](const Tensor& a, const Tensor& b) { return fmod(a, b); }},
      {"remainder", [](const Tensor& a, const Tensor& b) { return remainder(a, b); }},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }},
      {"lerp", [](const Tensor& a, const Tensor& b) { return lerp(a, b, 0.5); }},
      {"lerp", [](const Tensor& a, const Tensor& b) { return lerp(a, a, b); }},
      {"addcmul", [](const Tensor& a, const Tensor& b) { return addcmul(a, a, b); }},
      {"addcdiv", [](const Tensor& a, const Tensor& b) { return addcdiv(b, a, a); }},
  };
  const Tensor wrong = f64({1, 2}, {2});
  for (const auto& [name, op] : binary) {
    INFO("op " << name);
    check_error([&] { op(f, wrong); }, name + ": ");              // shapes that do not broadcast
    check_error([&] { op(f, f32); }, name + ": dtype mismatch");  // no promotion
    check_error([&] { op(i, i); }, name + ": ");                  // int64
  }
  // products
  const Tensor m23 = zeros({2, 3}, kFloat64), m34 = zeros({3, 4}, kFloat64), m24 = zeros({2, 4}, kFloat64);
  check_error([&] { mm(m23, zeros({3, 4, 1}, kFloat64)); }, "mm: expects 2-D");
  check_error([&] { mm(m23, m23); }, "inner dimensions do not match");
  check_error([&] { bmm(m23, m34); }, "bmm: expects 3-D");
  check_error([&] { bmm(zeros({2, 2, 3}, kFloat64), zeros({3, 3, 4}, kFloat64)); }, "bmm: batch sizes differ");
  check_error([&] { bmm(zeros({2, 2, 3}, kFloat64), zeros({2, 4, 4}, kFloat64)); }, "bmm: inner dimensions");
  check_error([&] { bmm(zeros({2, 2, 3}), zeros({2, 3, 4}, kFloat64)); }, "bmm: dtype mismatch");
  check_error([&] { bmm(zeros({2, 2, 3}, kInt64), zeros({2, 3, 4}, kInt64)); }, "bmm: expected a floating");
  check_error([&] { addmm(zeros({4}, kFloat64), m23, m23); }, "addmm: inner dimensions");
  check_error([&] { addmm(zeros({3}, kFloat64), m23, m34); }, "addmm: self");
  check_error([&] { addmm(zeros({2, 4, 1}, kFloat64), m23, m34); }, "addmm: self");
  check_error([&] { addmm(zeros({4}, kFloat64), m24, f); }, "addmm: mat1 and mat2 must be 2-D");
  check_error([&] { addmm(zeros({4}), m23, m34); }, "addmm: dtype mismatch");
  check_error([&] { outer(m23, f); }, "outer: expects 1-D");
  check_error([&] { outer(i, i); }, "outer: expected a floating");
  check_error([&] { dot(f, wrong); }, "dot: inputs must have the same number");
  check_error([&] { dot(m23, m23); }, "dot: expects 1-D");
  check_error([&] { dot(f, f32); }, "dot: dtype mismatch");
  // dims
  check_error([&] { var(m23, 2); }, "var: dim 2 is out of range");
  check_error([&] { ag::std(m23, -3); }, "std: dim -3 is out of range");
  check_error([&] { var(m23, std::optional<std::int64_t>(5), std::nullopt); }, "var: dim 5");
}
