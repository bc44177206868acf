// The gradient API: ag::grad (no .grad() side effects, interior inputs, allow_unused, several
// outputs), create_graph (Hessian-vector products, higher derivatives) and backward(create_graph).
#include <cmath>

#include "test_util.h"

using namespace ag;

namespace {

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

// f(x) = sum(x^3) + 0.5 x^T A x with a non-symmetric A: grad = 3x^2 + (A + A^T) x / 2,
// Hessian H = diag(6x) + (A + A^T) / 2.
const std::vector<double> kA = {1.0, 2.0, -0.5, 0.0, 3.0, 1.5, -2.0, 0.25, 0.5};

Tensor cubic_quadratic(const Tensor& x, const Tensor& a) { return sum(pow(x, 3.0)) + 0.5 * matmul(x, matmul(a, x)); }

std::vector<double> closed_form_hvp(const std::vector<double>& x, const std::vector<double>& v) {
  std::vector<double> hv(3, 0.0);
  for (int i = 0; i < 3; ++i) {
    hv[i] += 6.0 * x[i] * v[i];
    for (int j = 0; j < 3; ++j) hv[i] += 0.5 * (kA[i * 3 + j] + kA[j * 3 + i]) * v[j];
  }
  return hv;
}

/// y = 2x, counting how often its backward runs.
struct CountedDouble : Function<CountedDouble> {
  static inline int backward_calls = 0;
  static Tensor forward(AutogradContext*, const Tensor& x) { return x * 2.0; }
  static std::vector<Tensor> backward(AutogradContext*, const std::vector<Tensor>& g) {
    ++backward_calls;
    return {g[0] * 2.0};
  }
};

}  // namespace

TEST_CASE("grad returns gradients without touching .grad()") {
  Tensor x = tensor({0.5, -1.0, 2.0}, {3}, kFloat64).requires_grad_();
  Tensor w = tensor({1.0, 2.0, 3.0}, {3}, kFloat64).requires_grad_();
  Tensor y = sum(x * x * w);
  const auto g = grad({y}, {x, w});
  REQUIRE(g.size() == 2);
  agt::check_values(g[0], {2 * 0.5 * 1.0, 2 * -1.0 * 2.0, 2 * 2.0 * 3.0});
  agt::check_values(g[1], {0.25, 1.0, 4.0});
  CHECK_FALSE(x.grad().defined());
  CHECK_FALSE(w.grad().defined());
  CHECK_FALSE(g[0].requires_grad());  // no create_graph: plain values

  // A .grad() that already holds something is left exactly as it was.
  x.set_grad(tensor({7.0, 7.0, 7.0}, {3}, kFloat64));
  const auto g2 = grad({sum(exp(x))}, {x});
  agt::check_values(g2[0], {std::exp(0.5), std::exp(-1.0), std::exp(2.0)});
  agt::check_values(x.grad(), {7.0, 7.0, 7.0});
}

TEST_CASE("grad with respect to an interior (non-leaf) tensor") {
  Tensor x = tensor({0.3, -0.7}, {2}, kFloat64).requires_grad_();
  Tensor h = x * 2.0;
  CHECK_FALSE(h.is_leaf());
  Tensor y = sum(tanh(h));
  const auto g = grad({y}, {h, x});
  const double t0 = std::tanh(0.6), t1 = std::tanh(-1.4);
  agt::check_values(g[0], {1 - t0 * t0, 1 - t1 * t1});
  agt::check_values(g[1], {2 * (1 - t0 * t0), 2 * (1 - t1 * t1)});
  CHECK_FALSE(x.grad().defined());

  // h used twice downstream: the gradient at h sums both paths.
  Tensor h2 = exp(x);
  Tensor z = sum(h2 * h2) + sum(h2);
  const auto gh = grad({z}, {h2});
  agt::check_values(gh[0], {2 * std::exp(0.3) + 1, 2 * std::exp(-0.7) + 1});
}

TEST_CASE("grad runs only the part of the graph between the outputs and the inputs") {
  // As in libtorch: asking for d/dh does not run (nor free) what produced h.
  Tensor x = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  CountedDouble::backward_calls = 0;
  Tensor h = CountedDouble::apply(x);
  Tensor y = sum(h * h);
  const auto g = grad({y}, {h});  // retain_graph defaults to false
  agt::check_values(g[0], {4.0, 8.0});
  CHECK(CountedDouble::backward_calls == 0);
  const auto gx = grad({sum(h)}, {x});  // h's own graph is still there
  agt::check_values(gx[0], {2.0, 2.0});
  CHECK(CountedDouble::backward_calls == 1);
  CHECK_THROWS_AS(grad({sum(h)}, {x}), Error);  // now it was freed

  // A branch that does not lead to the inputs is skipped too.
  CountedDouble::backward_calls = 0;
  Tensor a = tensor({0.5}, {1}, kFloat64).requires_grad_();
  Tensor b = tensor({3.0}, {1}, kFloat64).requires_grad_();
  Tensor z = sum(CountedDouble::apply(b) * a) + sum(a * a);
  agt::check_values(grad({z}, {a})[0], {7.0});
  CHECK(CountedDouble::backward_calls == 0);
  CHECK_FALSE(b.grad().defined());
}

TEST_CASE("allow_unused: an unused input is an error without it, an undefined tensor with it") {
  Tensor x = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor unused = tensor({3.0}, {1}, kFloat64).requires_grad_();
  CHECK_THROWS_AS(grad({sum(x * x)}, {x, unused}), Error);
  try {
    grad({sum(x * x)}, {x, unused});
    FAIL("expected an error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("allow_unused") != std::string::npos);
    CHECK(msg.find("input 1") != std::string::npos);
  }
  const auto g = grad({sum(x * x)}, {x, unused}, {}, std::nullopt, false, /*allow_unused=*/true);
  REQUIRE(g.size() == 2);
  agt::check_values(g[0], {2.0, 4.0});
  CHECK_FALSE(g[1].defined());

  // An input whose recorded path is cut off by detach() is unused too.
  Tensor y = sum(x.detach() * x.detach() * unused);
  const auto g3 = grad({y}, {x, unused}, {}, std::nullopt, false, true);
  CHECK_FALSE(g3[0].defined());
  agt::check_values(g3[1], {5.0});
}

TEST_CASE("grad misuse: inputs or outputs without grad, non-scalar outputs, mismatched grad_outputs") {
  Tensor x = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor c = tensor({1.0, 2.0}, {2}, kFloat64);
  CHECK_THROWS_AS(grad({sum(x * c)}, {c}), Error);                            // input does not require grad
  CHECK_THROWS_AS(grad({sum(c * c)}, {x}), Error);                            // output not recorded
  CHECK_THROWS_AS(grad({x * x}, {x}), Error);                                 // non-scalar output needs a grad_output
  CHECK_THROWS_AS(grad({x * x}, {x}, {ones({3}, kFloat64)}), Error);          // wrong shape
  CHECK_THROWS_AS(grad({x * x}, {x}, {ones({2}, kFloat32)}), Error);          // wrong dtype
  CHECK_THROWS_AS(grad({x * x, sum(x)}, {x}, {ones({2}, kFloat64)}), Error);  // count mismatch
  CHECK_THROWS_AS(grad({}, {x}), Error);
  CHECK_THROWS_AS(grad({sum(x)}, {Tensor()}), Error);
}

TEST_CASE("grad of several outputs weighs each by its grad_output") {
  Tensor x = tensor({0.5, -0.25, 1.5}, {3}, kFloat64).requires_grad_();
  Tensor y1 = x * x;        // [3]
  Tensor y2 = sum(exp(x));  // scalar
  Tensor v1 = tensor({1.0, -2.0, 0.5}, {3}, kFloat64);
  Tensor v2 = scalar_tensor(3.0, kFloat64);
  const auto g = grad({y1, y2}, {x}, {v1, v2});
  const auto xs = values(x);
  const auto v = values(v1);
  std::vector<double> want(3);
  for (int i = 0; i < 3; ++i) want[i] = 2 * xs[i] * v[i] + 3.0 * std::exp(xs[i]);
  agt::check_values(g[0], want);

  // An undefined grad_output for a scalar output means 1.
  Tensor y3 = sum(x * 2.0);
  const auto g2 = grad({x * x, y3}, {x}, {v1, Tensor()});
  for (int i = 0; i < 3; ++i) want[i] = 2 * xs[i] * v[i] + 2.0;
  agt::check_values(g2[0], want);
}

TEST_CASE("create_graph: Hessian-vector product of a function with a non-diagonal Hessian") {
  const std::vector<double> x0 = {0.4, -1.1, 0.7};
  const std::vector<double> v0 = {1.0, 0.5, -2.0};
  const Tensor a = tensor(kA, {3, 3}, kFloat64);
  const Tensor v = tensor(v0, {3}, kFloat64);
  Tensor x = tensor(x0, {3}, kFloat64).requires_grad_();

  const Tensor f = cubic_quadratic(x, a);
  const auto g = grad({f}, {x}, {}, std::nullopt, /*create_graph=*/true);
  CHECK(g[0].requires_grad());
  const auto hv = grad({sum(g[0] * v)}, {x});
  agt::check_values(hv[0], closed_form_hvp(x0, v0), 1e-12);
  CHECK_FALSE(x.grad().defined());

  // The same product through grad_outputs instead of a dot product.
  const auto g2 = grad({cubic_quadratic(x, a)}, {x}, {}, std::nullopt, true);
  const auto hv2 = grad({g2[0]}, {x}, {v});
  agt::check_values(hv2[0], closed_form_hvp(x0, v0), 1e-12);

  // Central finite differences of the (first-order) gradient along v.
  const double eps = 1e-5;
  auto grad_at = [&](double s) {
    std::vector<double> xs(3);
    for (int i = 0; i < 3; ++i) xs[i] = x0[i] + s * v0[i];
    Tensor xp = tensor(xs, {3}, kFloat64).requires_grad_();
    return values(grad({cubic_quadratic(xp, a)}, {xp})[0]);
  };
  const auto gp = grad_at(eps);
  const auto gm = grad_at(-eps);
  const auto got = values(hv[0]);
  for (int i = 0; i < 3; ++i) {
    INFO("component " << i);
    CHECK(got[i] == doctest::Approx((gp[i] - gm[i]) / (2 * eps)).epsilon(1e-7));
  }
  // The Hessian really is not diagonal: v's other components move component 0.
  CHECK(std::abs(got[0] - 6.0 * x0[0] * v0[0] - kA[0] * v0[0]) > 0.1);
}

TEST_CASE("grad of grad: second and third derivatives of tanh and exp match closed forms") {
  const std::vector<double> x0 = {-1.2, -0.3, 0.0, 0.8, 2.0};
  Tensor x = tensor(x0, {5}, kFloat64).requires_grad_();
  const auto d1 = grad({sum(tanh(x))}, {x}, {}, std::nullopt, true);
  const auto d2 = grad({sum(d1[0])}, {x}, {}, std::nullopt, true);
  const auto d3 = grad({sum(d2[0])}, {x});
  std::vector<double> w1, w2, w3;
  for (double v : x0) {
    const double t = std::tanh(v);
    w1.push_back(1 - t * t);
    w2.push_back(-2 * t * (1 - t * t));
    w3.push_back((1 - t * t) * (6 * t * t - 2));
  }
  agt::check_values(d1[0], w1);
  agt::check_values(d2[0], w2);
  agt::check_values(d3[0], w3);

  Tensor y = tensor({0.5, -2.0}, {2}, kFloat64).requires_grad_();
  const auto e1 = grad({sum(exp(y * 3.0))}, {y}, {}, std::nullopt, true);
  const auto e2 = grad({sum(e1[0])}, {y});
  agt::check_values(e1[0], {3 * std::exp(1.5), 3 * std::exp(-6.0)});
  agt::check_values(e2[0], {9 * std::exp(1.5), 9 * std::exp(-6.0)});
}

TEST_CASE("backward(create_graph) leaves a .grad that itself requires grad") {
  Tensor x = tensor({0.5, -1.5}, {2}, kFloat64).requires_grad_();
  sum(pow(x, 3.0)).backward(Tensor(), false, /*create_graph=*/true);
  Tensor gx = x.grad();
  REQUIRE(gx.defined());
  CHECK(gx.requires_grad());
  agt::check_values(gx, {3 * 0.25, 3 * 2.25});
  const auto h = grad({sum(gx)}, {x});
  agt::check_values(h[0], {6 * 0.5, 6 * -1.5});
  x.set_grad(Tensor());  // drop the recorded .grad (it refers back to x)

  // Without create_graph the accumulated .grad is a plain value.
  sum(pow(x, 3.0)).backward();
  CHECK_FALSE(x.grad().requires_grad());
  agt::check_values(x.grad(), {3 * 0.25, 3 * 2.25});
}

TEST_CASE("create_graph keeps the graph: a second grad through it works; without it the graph is freed") {
  Tensor x = tensor({0.2, 0.9}, {2}, kFloat64).requires_grad_();
  Tensor y = sum(exp(x));
  grad({y}, {x}, {}, std::nullopt, true);
  const auto again = grad({y}, {x});  // retain_graph defaulted to create_graph = true
  agt::check_values(again[0], {std::exp(0.2), std::exp(0.9)});
  CHECK_THROWS_AS(grad({y}, {x}), Error);  // the previous call freed it

  Tensor z = sum(exp(x));
  grad({z}, {x}, {}, /*retain_graph=*/true);
  const auto third = grad({z}, {x});
  agt::check_values(third[0], {std::exp(0.2), std::exp(0.9)});
}

TEST_CASE("grad: an input listed twice gets its gradient at each place, as in PyTorch") {
  Tensor x = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor h = x * 3.0;
  // d/dx sum(h x) = 3x + h = 6x (through h too), d/dh = x
  const auto g = grad({sum(h * x)}, {x, x, h, h});
  REQUIRE(g.size() == 4);
  for (int i = 0; i < 2; ++i) {
    REQUIRE(g[i].defined());
    agt::check_values(g[i], {6.0, 12.0});
  }
  for (int i = 2; i < 4; ++i) {
    REQUIRE(g[i].defined());
    agt::check_values(g[i], {1.0, 2.0});
  }
  CHECK_FALSE(x.grad().defined());

  // an unused input listed twice: undefined at both places with allow_unused, an error without
  Tensor u = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  const auto gu = grad({sum(x * x)}, {u, x, u}, {}, std::nullopt, false, /*allow_unused=*/true);
  REQUIRE(gu.size() == 3);
  CHECK_FALSE(gu[0].defined());
  CHECK_FALSE(gu[2].defined());
  agt::check_values(gu[1], {2.0, 4.0});
  CHECK_THROWS_AS(grad({sum(x * x)}, {x, u, u}), Error);
}

TEST_CASE("retain_grad: ag::grad fills .grad() of a retained result it runs through, as PyTorch's autograd.grad") {
  Tensor x = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor h = x * 3.0;
  h.retain_grad();
  Tensor z = sum(h * h);
  const auto g = grad({z}, {x}, {}, /*retain_graph=*/true);
  agt::check_values(g[0], {18.0, 36.0});
  REQUIRE(h.grad().defined());
  agt::check_values(h.grad(), {6.0, 12.0});
  CHECK_FALSE(x.grad().defined());  // leaves are still untouched
  grad({z}, {x});                   // accumulates, as .grad() does
  agt::check_values(h.grad(), {12.0, 24.0});

  // a retained result that is itself the input: its op does not run, so .grad() stays undefined
  Tensor h2 = x * 3.0;
  h2.retain_grad();
  const auto g2 = grad({sum(h2 * h2)}, {h2});
  agt::check_values(g2[0], {6.0, 12.0});
  CHECK_FALSE(h2.grad().defined());
}
