// ag::gradcheck / ag::gradgradcheck as a feature: they pass on correct ops, and catch wrong
// first and second derivatives, pointing at the offending input and element.
#include <cmath>
#include <string>

#include "test_util.h"

using namespace ag;

namespace {

/// y = x^2 with a backward that is wrong by `factor` on the flat element `bad` only.
struct WrongSquare : Function<WrongSquare> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, std::int64_t bad, double factor) {
    ctx->save_for_backward({x});
    ctx->saved_data["bad"] = bad;
    ctx->saved_data["factor"] = factor;
    return x * x;
  }
  static std::vector<Tensor> backward(AutogradContext* ctx, const std::vector<Tensor>& g) {
    const Tensor x = ctx->get_saved_variables()[0];
    Tensor scale = ones_like(x);
    scale.data<double>()[ctx->saved_data["bad"].toInt()] = ctx->saved_data["factor"].toDouble();
    return {g[0] * 2.0 * x * scale};
  }
};

/// y = x^3 whose backward is right to first order but reads x detached, so its own derivative is 0.
struct DetachedCube : Function<DetachedCube> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    ctx->save_for_backward({x});
    return x * x * x;
  }
  static std::vector<Tensor> backward(AutogradContext* ctx, const std::vector<Tensor>& g) {
    const Tensor x = ctx->get_saved_variables()[0].detach();
    return {g[0] * 3.0 * x * x};
  }
};

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("gradcheck passes on correct ops and counts every Jacobian entry") {
  Tensor x = agt::input({2, 3}, 0.3);
  Tensor y = agt::input({3, 2}, 1.7);
  Tensor c = agt::input({2}, 2.2, 1.0, 0.0, /*requires_grad=*/false);
  auto fn = [](const std::vector<Tensor>& in) { return tanh(matmul(in[0], in[1])) * in[2] + exp(in[0]).sum(); };
  const GradcheckReport r = gradcheck(fn, {x, y, c});
  INFO(r.str());
  CHECK(r.ok);
  CHECK(static_cast<bool>(r));
  CHECK(r.failures == 0);
  CHECK(r.mode == "full Jacobian");
  CHECK(r.entries == 4 * (6 + 6));  // output [2,2] against x (6) and y (6); c does not require grad
  CHECK(r.error <= r.tolerance);
  // The inputs are left as they were after the perturbations.
  agt::check_values(x, agt::input({2, 3}, 0.3).to_vector<double>(), 1e-15);
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("gradcheck on 0-d inputs and outputs, and on inputs the output does not depend on") {
  Tensor s = scalar_tensor(0.7, kFloat64).requires_grad_();
  Tensor v = agt::input({3}, 0.5);
  const GradcheckReport r = gradcheck([](const std::vector<Tensor>& in) { return sum(exp(in[1] * in[0])); }, {s, v});
  INFO(r.str());
  CHECK(r.ok);
  CHECK(r.entries == 1 + 3);
  CHECK(r.output_index == Shape{});
  // An unused input has a zero Jacobian both ways.
  const GradcheckReport u = gradcheck([](const std::vector<Tensor>& in) { return tanh(in[1]); }, {s, v});
  CHECK(u.ok);
  CHECK(u.entries == 3 * 1 + 3 * 3);
}

TEST_CASE("gradcheck fails on a wrong custom backward and names the input and element") {
  Tensor w = agt::input({3}, 0.9);
  Tensor x = agt::input({2, 3}, 0.4, 1.0, 0.5);  // no zero entries
  auto fn = [](const std::vector<Tensor>& in) { return WrongSquare::apply(in[1], std::int64_t{4}, 1.5) + in[0]; };
  const GradcheckReport r = gradcheck(fn, {w, x});
  INFO(r.str());
  CHECK_FALSE(r.ok);
  CHECK_FALSE(static_cast<bool>(r));
  CHECK(r.failures == 1);  // only the diagonal entry of element 4
  CHECK(r.entries == 6 * 3 + 6 * 6);
  CHECK(r.input == 1);
  CHECK(r.input_index == Shape{1, 1});
  CHECK(r.output_index == Shape{1, 1});
  const double x4 = x.to_vector<double>()[4];
  CHECK(r.analytic == doctest::Approx(2 * x4 * 1.5).epsilon(1e-12));
  CHECK(r.numeric == doctest::Approx(2 * x4).epsilon(1e-8));
  CHECK(r.error > r.tolerance);

  // The same function with a correct factor passes.
  auto good = [](const std::vector<Tensor>& in) { return WrongSquare::apply(in[1], std::int64_t{4}, 1.0) + in[0]; };
  CHECK(gradcheck(good, {w, x}).ok);
}

TEST_CASE("gradcheck refuses float32 inputs with an explanation") {
  Tensor x = agt::input({3}, 0.1).to(kFloat32).detach().requires_grad_();
  auto fn = [](const std::vector<Tensor>& in) { return in[0] * in[0]; };
  CHECK_THROWS_AS(gradcheck(fn, {x}), Error);
  CHECK_THROWS_AS(gradgradcheck(fn, {x}), Error);
  try {
    gradcheck(fn, {x});
    FAIL("expected an error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(contains(msg, "float32"));
    CHECK(contains(msg, "float64"));
    CHECK(contains(msg, "eps"));
  }
  // A function returning float32 from float64 inputs is refused too.
  Tensor xd = agt::input({3}, 0.1);
  CHECK_THROWS_AS(gradcheck([](const std::vector<Tensor>& in) { return in[0].to(kFloat32); }, {xd}), Error);
  // So is an undefined result.
  CHECK_THROWS_AS(gradcheck([](const std::vector<Tensor>&) { return Tensor(); }, {xd}), Error);
}

TEST_CASE("fast mode (random projections) on a 200x200 input: passes when right, fails when wrong") {
  Tensor x = agt::input({200, 200}, 0.6);
  GradcheckOptions fast;
  fast.set_fast_mode(true);
  auto good = [](const std::vector<Tensor>& in) { return tanh(in[0]) * in[0]; };
  const GradcheckReport r = gradcheck(good, {x}, fast);
  INFO(r.str());
  CHECK(r.ok);
  CHECK(r.mode == "random projection");
  CHECK(r.entries == fast.num_projections);

  auto wrong = [](const std::vector<Tensor>& in) { return WrongSquare::apply(in[0], std::int64_t{12345}, 100.0); };
  const GradcheckReport bad = gradcheck(wrong, {x}, fast);
  INFO(bad.str());
  CHECK_FALSE(bad.ok);
  CHECK(bad.failures > 0);
  CHECK(bad.input == 0);
  auto right = [](const std::vector<Tensor>& in) { return WrongSquare::apply(in[0], std::int64_t{12345}, 1.0); };
  CHECK(gradcheck(right, {x}, fast).ok);
}

TEST_CASE("the report prints through fmt with the verdict and the worst values") {
  Tensor x = agt::input({2, 3}, 0.4, 1.0, 0.5);
  const GradcheckReport good = gradcheck([](const std::vector<Tensor>& in) { return in[0] * in[0]; }, {x});
  const std::string s = fmt::format("{}", good);
  CHECK(s == good.str());
  CHECK(contains(s, "passed"));
  CHECK_FALSE(contains(s, "FAILED"));
  CHECK(contains(s, "full Jacobian"));
  CHECK(contains(s, fmt::format("{:.10g}", good.analytic)));
  CHECK(contains(s, fmt::format("{:.10g}", good.numeric)));

  const GradcheckReport bad =
      gradcheck([](const std::vector<Tensor>& in) { return WrongSquare::apply(in[0], std::int64_t{2}, 3.0); }, {x});
  const std::string t = fmt::format("{}", bad);
  CHECK(contains(t, "FAILED"));
  CHECK_FALSE(contains(t, "passed"));
  CHECK(contains(t, fmt::format("{:.10g}", bad.analytic)));
  CHECK(contains(t, fmt::format("{:.10g}", bad.numeric)));
  CHECK(contains(t, "input 0"));
  CHECK(contains(t, shape_str(Shape{0, 2})));
  // Width and alignment specs go through fmt's string formatter.
  CHECK(fmt::format("{:>5}", bad).size() == t.size());
}

TEST_CASE("gradgradcheck passes on tanh/exp compositions") {
  Tensor x = agt::input({2, 3}, 0.2);
  Tensor y = agt::input({3}, 1.3, 0.5);
  auto fn = [](const std::vector<Tensor>& in) { return tanh(in[0] * in[1]) * exp(in[1]) + exp(tanh(in[0])); };
  const GradcheckReport r = gradgradcheck(fn, {x, y});
  INFO(r.str());
  CHECK(r.ok);
  CHECK(r.entries == 9 * (6 + 3));  // d(grad, flattened to 9) / d(x, y)
  CHECK(contains(r.mode, "second derivative"));
  agt::check_second_gradients([](const std::vector<Tensor>& in) { return sum(exp(in[0] * in[0])) * tanh(in[0]); },
                              {agt::input({4}, 0.7)});
}

TEST_CASE("gradgradcheck fails on a backward that is right but not differentiable correctly") {
  Tensor x = agt::input({4}, 0.5, 1.0, 0.3);
  auto fn = [](const std::vector<Tensor>& in) { return DetachedCube::apply(in[0]); };
  // First derivatives are right...
  const GradcheckReport first = gradcheck(fn, {x});
  INFO(first.str());
  CHECK(first.ok);
  // ...second derivatives are not: the detached saved tensor hides d(3x^2)/dx = 6x.
  const GradcheckReport second = gradgradcheck(fn, {x});
  INFO(second.str());
  CHECK_FALSE(second.ok);
  CHECK(second.failures > 0);
  CHECK(second.input == 0);
  CHECK(second.analytic == 0.0);
  CHECK(second.numeric != doctest::Approx(0.0));
  CHECK(contains(fmt::format("{}", second), "FAILED"));
}

TEST_CASE("gradcheck options: a tolerance too tight for finite differences fails, eps is honoured") {
  Tensor x = agt::input({3}, 0.8);
  auto fn = [](const std::vector<Tensor>& in) { return exp(in[0]); };
  GradcheckOptions tight;
  tight.set_atol(0.0).set_rtol(1e-14);
  CHECK_FALSE(gradcheck(fn, {x}, tight).ok);
  GradcheckOptions coarse;
  coarse.set_eps(1e-2).set_atol(1e-7).set_rtol(1e-7);
  CHECK_FALSE(gradcheck(fn, {x}, coarse).ok);  // O(eps^2) truncation error
  coarse.set_rtol(1e-4);
  CHECK(gradcheck(fn, {x}, coarse).ok);
}
