// Elementwise math and activations: values, gradients, stability at extreme inputs, errors.
#include <cmath>
#include <limits>

#include "test_util.h"

using namespace ag;

namespace {

using UnOp = std::function<Tensor(const Tensor&)>;

void check_first(const UnOp& op, const Tensor& x) {
  agt::check_gradients([op](const std::vector<Tensor>& in) { return op(in[0]); }, {x});
}

void check_both(const UnOp& op, const Tensor& x) {
  check_first(op, x);
  agt::check_second_gradients([op](const std::vector<Tensor>& in) { return op(in[0]); }, {x});
}

double sigmoid_ref(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// Values of x and the gradient of sum(op(x)), for float32 and float64.
template <class F>
void check_extremes(const UnOp& op, const std::vector<double>& xs, F expect_value,
                    const std::vector<double>& expect_grad) {
  for (Dtype dt : {kFloat32, kFloat64}) {
    INFO("dtype " << dtype_name(dt));
    Tensor x = tensor(xs, {static_cast<std::int64_t>(xs.size())}, dt).requires_grad_();
    Tensor y = op(x);
    const auto v = y.to_vector<double>();
    for (std::size_t i = 0; i < xs.size(); ++i) {
      INFO("x = " << xs[i]);
      CHECK(std::isfinite(v[i]));
      CHECK(v[i] == doctest::Approx(expect_value(xs[i])).epsilon(1e-6));
    }
    sum(y).backward();
    const auto g = x.grad().to_vector<double>();
    for (std::size_t i = 0; i < xs.size(); ++i) {
      INFO("x = " << xs[i]);
      CHECK(std::isfinite(g[i]));
      CHECK(g[i] == expect_grad[i]);
    }
  }
}

}  // namespace

TEST_CASE("exp, log, sqrt, abs: values and gradients") {
  Tensor x = tensor({-1.0, 0.0, 0.5, 2.0}, {4}, kFloat64);
  agt::check_values(exp(x), {std::exp(-1.0), 1.0, std::exp(0.5), std::exp(2.0)});
  agt::check_values(x.exp(), {std::exp(-1.0), 1.0, std::exp(0.5), std::exp(2.0)});
  Tensor p = tensor({0.25, 1.0, 4.0, 9.0}, {2, 2}, kFloat64);
  agt::check_values(log(p), {std::log(0.25), 0.0, std::log(4.0), std::log(9.0)});
  agt::check_values(sqrt(p), {0.5, 1.0, 2.0, 3.0});
  agt::check_values(p.sqrt(), {0.5, 1.0, 2.0, 3.0});
  agt::check_values(abs(x), {1.0, 0.0, 0.5, 2.0});
  agt::check_values(x.abs(), {1.0, 0.0, 0.5, 2.0});
  CHECK(log(zeros({1})).item<double>() == -std::numeric_limits<double>::infinity());
  CHECK(std::isnan(sqrt(tensor({-1.0})).item<double>()));
  CHECK(exp(tensor({1.0})).dtype() == kFloat32);

  Tensor a = tensor({-2.0, 0.0, 3.0}, {3}, kFloat64).requires_grad_();
  sum(abs(a)).backward();
  agt::check_values(a.grad(), {-1.0, 0.0, 1.0});  // 0 at 0, as libtorch
  Tensor q = tensor({4.0, 0.25}, {2}, kFloat64).requires_grad_();
  sum(sqrt(q) + log(q) + exp(q)).backward();
  agt::check_values(q.grad(), {0.25 + 0.25 + std::exp(4.0), 1.0 + 4.0 + std::exp(0.25)});

  const Tensor xs = agt::input({2, 3});
  const Tensor pos = agt::input({2, 3}, 0.4, 0.5, 1.5);
  check_both([](const Tensor& t) { return exp(t); }, xs);
  check_both([](const Tensor& t) { return log(t); }, pos);
  check_both([](const Tensor& t) { return sqrt(t); }, pos);
  check_both([](const Tensor& t) { return abs(t); }, agt::input({2, 3}, 0.1, 1.0, 0.0));  // cos values avoid 0
  check_both([](const Tensor& t) { return exp(t); }, agt::input({}));
  check_both([](const Tensor& t) { return log(t) * sqrt(t); }, pos);
}

TEST_CASE("sigmoid and tanh: values, gradients, second derivatives") {
  Tensor x = tensor({-2.0, 0.0, 1.0}, {3}, kFloat64);
  agt::check_values(sigmoid(x), {sigmoid_ref(-2.0), 0.5, sigmoid_ref(1.0)});
  agt::check_values(x.sigmoid(), {sigmoid_ref(-2.0), 0.5, sigmoid_ref(1.0)});
  agt::check_values(tanh(x), {std::tanh(-2.0), 0.0, std::tanh(1.0)});
  agt::check_values(x.tanh(), {std::tanh(-2.0), 0.0, std::tanh(1.0)});

  Tensor g = tensor({0.0, 1.0}, {2}, kFloat64).requires_grad_();
  sum(sigmoid(g)).backward();
  agt::check_values(g.grad(), {0.25, sigmoid_ref(1.0) * (1 - sigmoid_ref(1.0))});
  g.set_grad(Tensor());
  sum(tanh(g)).backward();
  agt::check_values(g.grad(), {1.0, 1.0 - std::tanh(1.0) * std::tanh(1.0)});

  const Tensor xs = agt::input({3, 2}, 0.3, 3.0);
  check_both([](const Tensor& t) { return sigmoid(t); }, xs);
  check_both([](const Tensor& t) { return tanh(t); }, xs);
  check_both([](const Tensor& t) { return tanh(sigmoid(t) * t); }, xs);
}

TEST_CASE("relu and leaky_relu: values and gradients away from the kink") {
  Tensor x = tensor({-2.0, -0.5, 0.0, 0.5, 3.0}, {5}, kFloat64);
  agt::check_values(relu(x), {0.0, 0.0, 0.0, 0.5, 3.0});
  agt::check_values(x.relu(), {0.0, 0.0, 0.0, 0.5, 3.0});
  agt::check_values(leaky_relu(x), {-0.02, -0.005, 0.0, 0.5, 3.0});
  agt::check_values(leaky_relu(x, 0.2), {-0.4, -0.1, 0.0, 0.5, 3.0});

  Tensor g = tensor({-2.0, 0.0, 3.0}, {3}, kFloat64).requires_grad_();
  sum(relu(g)).backward();
  agt::check_values(g.grad(), {0.0, 0.0, 1.0});
  g.set_grad(Tensor());
  sum(leaky_relu(g, 0.1)).backward();
  agt::check_values(g.grad(), {0.1, 0.1, 1.0});  // slope at 0, as libtorch

  const Tensor xs = agt::input({2, 4}, 0.1, 1.0);  // |x| >= 0.05, far from the kink for eps = 1e-6
  check_both([](const Tensor& t) { return relu(t); }, xs);
  check_both([](const Tensor& t) { return leaky_relu(t, 0.3); }, xs);
  check_both([](const Tensor& t) { return relu(t) * t; }, xs);
}

TEST_CASE("softplus with beta and threshold") {
  Tensor x = tensor({-1.0, 0.0, 2.0, 30.0}, {4}, kFloat64);
  agt::check_values(softplus(x), {std::log1p(std::exp(-1.0)), std::log(2.0), std::log1p(std::exp(2.0)), 30.0});
  // beta = 2: log(1 + e^(2x)) / 2, linear once 2x > threshold = 3
  agt::check_values(softplus(x, 2.0, 3.0), {std::log1p(std::exp(-2.0)) / 2, std::log(2.0) / 2, 2.0, 30.0});
  agt::check_values(softplus(tensor({1.0}, {1}, kFloat64), 2.0, 3.0), {std::log1p(std::exp(2.0)) / 2});
  CHECK_THROWS_AS(softplus(x, 0.0), Error);
  CHECK_THROWS_AS(softplus(x, -1.0), Error);

  Tensor g = tensor({-1.0, 0.0, 1.0, 5.0}, {4}, kFloat64).requires_grad_();
  sum(softplus(g, 2.0, 3.0)).backward();
  agt::check_values(g.grad(), {sigmoid_ref(-2.0), 0.5, sigmoid_ref(2.0), 1.0});

  const Tensor xs = agt::input({2, 3}, 0.2, 2.0);
  check_both([](const Tensor& t) { return softplus(t); }, xs);
  check_both([](const Tensor& t) { return softplus(t, 2.5, 20.0); }, xs);
  // inputs on both sides of the threshold (beta x = 1.5 x vs 2): |1.5x - 2| stays large
  const Tensor around = tensor({-1.0, 0.5, 1.0, 2.5, 4.0}, {5}, kFloat64).requires_grad_();
  check_both([](const Tensor& t) { return softplus(t, 1.5, 2.0); }, around);
}

TEST_CASE("clamp, clamp_min, clamp_max") {
  Tensor x = tensor({-2.0, -0.5, 0.0, 0.7, 3.0}, {5}, kFloat64);
  agt::check_values(clamp(x, -1.0, 1.0), {-1.0, -0.5, 0.0, 0.7, 1.0});
  agt::check_values(x.clamp(-1.0, 1.0), {-1.0, -0.5, 0.0, 0.7, 1.0});
  agt::check_values(clamp_min(x, 0.0), {0.0, 0.0, 0.0, 0.7, 3.0});
  agt::check_values(clamp_max(x, 0.0), {-2.0, -0.5, 0.0, 0.0, 0.0});
  agt::check_values(clamp(x, 0.5, 0.5), {0.5, 0.5, 0.5, 0.5, 0.5});
  CHECK(clamp(tensor({5.0}), 0.0, 1.0).dtype() == kFloat32);

  Tensor g = tensor({-2.0, -0.5, 0.7, 3.0}, {4}, kFloat64).requires_grad_();
  sum(clamp(g, -1.0, 1.0)).backward();
  agt::check_values(g.grad(), {0.0, 1.0, 1.0, 0.0});
  g.set_grad(Tensor());
  sum(clamp_min(g, 0.0) + clamp_max(g, 0.0)).backward();
  agt::check_values(g.grad(), {1.0, 1.0, 1.0, 1.0});

  const Tensor xs = agt::input({2, 4}, 0.1, 2.0);
  check_both([](const Tensor& t) { return clamp(t, -0.8, 0.9); }, xs);
  check_both([](const Tensor& t) { return clamp_min(t, 0.25); }, xs);
  check_both([](const Tensor& t) { return clamp_max(t, -0.3); }, xs);
  check_both([](const Tensor& t) { return clamp(t, -0.8, 0.9) * t; }, xs);
}

TEST_CASE("clamp with min > max sets every value to max, with a zero gradient, as PyTorch") {
  for (Dtype dt : {kFloat64, kFloat32}) {
    CAPTURE(dtype_name(dt));
    Tensor x = tensor({-2.0, -1.0, 0.0, 0.5, 1.0, 3.0}, {6}, dt).requires_grad_();
    Tensor y = clamp(x, 1.0, -1.0);
    CHECK(y.to_vector<double>() == std::vector<double>(6, -1.0));
    sum(y).backward();
    CHECK(x.grad().to_vector<double>() == std::vector<double>(6, 0.0));
    // min == max: every value is that bound; the gradient passes only where x equals it (torch: 1 there)
    x.set_grad(Tensor());
    Tensor z = clamp(x, 0.5, 0.5);
    CHECK(z.to_vector<double>() == std::vector<double>(6, 0.5));
    sum(z).backward();
    CHECK(x.grad().to_vector<double>() == std::vector<double>{0, 0, 0, 1, 0, 0});
  }
}

TEST_CASE("sigmoid, tanh and softplus stay finite at +-1e3 and +-1e30, with limit gradients") {
  const std::vector<double> xs = {-1e30, -1e3, 1e3, 1e30};
  check_extremes([](const Tensor& t) { return sigmoid(t); }, xs, [](double v) { return v > 0 ? 1.0 : 0.0; },
                 {0.0, 0.0, 0.0, 0.0});
  check_extremes([](const Tensor& t) { return tanh(t); }, xs, [](double v) { return v > 0 ? 1.0 : -1.0; },
                 {0.0, 0.0, 0.0, 0.0});
  check_extremes([](const Tensor& t) { return softplus(t); }, xs, [](double v) { return v > 0 ? v : 0.0; },
                 {0.0, 0.0, 1.0, 1.0});
  check_extremes([](const Tensor& t) { return softplus(t, 2.0, 5.0); }, xs, [](double v) { return v > 0 ? v : 0.0; },
                 {0.0, 0.0, 1.0, 1.0});
  // moderately large inputs: the stable sigmoid still gives the exact tails
  Tensor s = sigmoid(tensor({-40.0, 40.0}, {2}, kFloat64));
  CHECK(s.to_vector<double>()[0] == doctest::Approx(std::exp(-40.0)).epsilon(1e-12));
  CHECK(s.to_vector<double>()[0] > 0.0);
  CHECK(s.to_vector<double>()[1] == 1.0);
}

TEST_CASE("unary ops refuse int64 input") {
  Tensor l = tensor(std::vector<std::int64_t>{-1, 2});
  CHECK_THROWS_AS(exp(l), Error);
  CHECK_THROWS_AS(log(l), Error);
  CHECK_THROWS_AS(sqrt(l), Error);
  CHECK_THROWS_AS(abs(l), Error);
  CHECK_THROWS_AS(sigmoid(l), Error);
  CHECK_THROWS_AS(tanh(l), Error);
  CHECK_THROWS_AS(relu(l), Error);
  CHECK_THROWS_AS(leaky_relu(l), Error);
  CHECK_THROWS_AS(softplus(l), Error);
  CHECK_THROWS_AS(clamp(l, 0.0, 1.0), Error);
  CHECK_THROWS_AS(clamp_min(l, 0.0), Error);
  CHECK_THROWS_AS(clamp_max(l, 0.0), Error);
  CHECK_THROWS_AS(neg(l), Error);
  CHECK_THROWS_AS(pow(l, 2.0), Error);
  try {
    exp(l);
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK(m.find("exp") != std::string::npos);
    CHECK(m.find("int64") != std::string::npos);
  }
  CHECK_THROWS_AS(exp(Tensor()), Error);
}
