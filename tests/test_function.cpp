// Custom differentiable ops (ag::Function): saved tensors and saved_data, first and second
// derivatives, needs_input_grad, undefined gradients, and the errors backward can raise.
#include <cmath>
#include <string>

#include "test_util.h"

using namespace ag;

namespace {

/// y = x^3;  dy/dx = 3x^2, written with ops so it can be differentiated again.
struct Cube : Function<Cube> {
  static inline bool forward_recorded = true;
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    forward_recorded = GradMode::is_enabled();
    ctx->save_for_backward({x});
    return x * x * x;
  }
  static std::vector<Tensor> backward(AutogradContext* ctx, const std::vector<Tensor>& g) {
    const Tensor x = ctx->get_saved_variables()[0];
    return {g[0] * 3.0 * x * x};
  }
  static Tensor jvp(AutogradContext* ctx, const std::vector<Tensor>& t) {  // forward mode: 3 x^2 tx
    const Tensor x = ctx->get_saved_variables()[0];
    return t[0] * 3.0 * x * x;
  }
};

/// y = exp(x), saving its own output for backward.
struct SelfExp : Function<SelfExp> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    Tensor y = exp(x);
    ctx->save_for_backward({y});
    return y;
  }
  static std::vector<Tensor> backward(AutogradContext* ctx, const std::vector<Tensor>& g) {
    return {g[0] * ctx->get_saved_variables()[0]};
  }
  static Tensor jvp(AutogradContext* ctx, const std::vector<Tensor>& t) { return t[0] * ctx->get_saved_variables()[0]; }
};

/// y = clamp(x @ w + b, lo, hi): a clipped linear layer with its own backward.
struct ClippedLinear : Function<ClippedLinear> {
  static inline std::vector<std::vector<bool>> needs_seen;
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& w, const Tensor& b, double lo, double hi) {
    const Tensor z = matmul(x, w) + b;
    ctx->save_for_backward({x, w, z});
    ctx->saved_data["lo"] = lo;
    ctx->saved_data["hi"] = hi;
    return clamp(z, lo, hi);
  }
  static std::vector<Tensor> backward(AutogradContext* ctx, const std::vector<Tensor>& g) {
    needs_seen.push_back({ctx->needs_input_grad(0), ctx->needs_input_grad(1), ctx->needs_input_grad(2)});
    const auto saved = ctx->get_saved_variables();
    const Tensor &x = saved[0], &w = saved[1], &z = saved[2];
    const double lo = ctx->saved_data.at("lo").toDouble();
    const double hi = ctx->saved_data.at("hi").toDouble();
    Tensor mask = zeros_like(z);  // 1 inside [lo, hi]: a constant of the graph
    for (std::int64_t i = 0; i < z.numel(); ++i) {
      const double v = z.data<double>()[i];
      mask.data<double>()[i] = (v >= lo && v <= hi) ? 1.0 : 0.0;
    }
    const Tensor gz = g[0] * mask;
    std::vector<Tensor> out(3);
    if (ctx->needs_input_grad(0)) out[0] = matmul_transposed(gz, w, false, true);
    if (ctx->needs_input_grad(1)) out[1] = matmul_transposed(x, gz, true, false);
    if (ctx->needs_input_grad(2)) out[2] = sum(gz, 0);
    return out;
  }
  // forward mode: (tx w + x tw + tb) inside [lo, hi], 0 where clipped
  static Tensor jvp(AutogradContext* ctx, const std::vector<Tensor>& t) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &x = saved[0], &w = saved[1], &z = saved[2];
    const double lo = ctx->saved_data.at("lo").toDouble();
    const double hi = ctx->saved_data.at("hi").toDouble();
    return (matmul(t[0], w) + matmul(x, t[1]) + t[2]) * ge(z, lo).to(z.dtype()) * le(z, hi).to(z.dtype());
  }
};

/// y = a * b, with "no gradient" for b.
struct NoGradForB : Function<NoGradForB> {
  static Tensor forward(AutogradContext* ctx, const Tensor& a, const Tensor& b) {
    ctx->save_for_backward({b});
    return a * b;
  }
  static std::vector<Tensor> backward(AutogradContext* ctx, const std::vector<Tensor>& g) {
    return {g[0] * ctx->get_saved_variables()[0], Tensor()};
  }
};

/// Backward returns a gradient of the wrong shape.
struct WrongShape : Function<WrongShape> {
  static Tensor forward(AutogradContext*, const Tensor& x) { return x * 2.0; }
  static std::vector<Tensor> backward(AutogradContext*, const std::vector<Tensor>& g) { return {sum(g[0])}; }
};

/// Backward returns too many gradients.
struct TooMany : Function<TooMany> {
  static Tensor forward(AutogradContext*, const Tensor& x) { return x * 2.0; }
  static std::vector<Tensor> backward(AutogradContext*, const std::vector<Tensor>& g) { return {g[0], g[0]}; }
};

/// Multiplies by a saved constant tensor.
struct ScaleBy : Function<ScaleBy> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& c) {
    ctx->save_for_backward({c});
    return x * c;
  }
  static std::vector<Tensor> backward(AutogradContext* ctx, const std::vector<Tensor>& g) {
    return {g[0] * ctx->get_saved_variables()[0], Tensor()};
  }
};

/// Returns its input unchanged.
struct Identity : Function<Identity> {
  static Tensor forward(AutogradContext*, const Tensor& x) { return x; }
  static std::vector<Tensor> backward(AutogradContext*, const std::vector<Tensor>& g) { return {g[0]}; }
};

/// Returns nothing.
struct Undefined : Function<Undefined> {
  static Tensor forward(AutogradContext*, const Tensor&) { return Tensor(); }
  static std::vector<Tensor> backward(AutogradContext*, const std::vector<Tensor>& g) { return {g[0]}; }
};

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("custom Function: values, gradient, forward without recording") {
  Tensor x = tensor({-1.5, 0.5, 2.0}, {3}, kFloat64).requires_grad_();
  const auto before = Tape::current().num_nodes();
  Tensor y = Cube::apply(x);
  CHECK_FALSE(Cube::forward_recorded);
  CHECK(Tape::current().num_nodes() == before + 1);  // one node for the whole op
  CHECK(y.requires_grad());
  CHECK_FALSE(y.is_leaf());
  agt::check_values(y, {-3.375, 0.125, 8.0});
  sum(y).backward();
  agt::check_values(x.grad(), {6.75, 0.75, 12.0});

  // Nothing is recorded when no input requires grad.
  Tensor c = tensor({2.0}, {1}, kFloat64);
  const auto n = Tape::current().num_nodes();
  Tensor yc = Cube::apply(c);
  CHECK_FALSE(yc.requires_grad());
  CHECK(Tape::current().num_nodes() == n);
  agt::check_values(yc, {8.0});
}

TEST_CASE("custom Function: gradcheck and gradgradcheck, saved inputs and saved outputs") {
  agt::check_gradients([](const std::vector<Tensor>& in) { return Cube::apply(in[0]); }, {agt::input({5}, 0.2)});
  agt::check_second_gradients([](const std::vector<Tensor>& in) { return Cube::apply(in[0]); }, {agt::input({5}, 0.2)});
  // A non-leaf input is saved too (its double backward goes through tanh).
  agt::check_second_gradients([](const std::vector<Tensor>& in) { return Cube::apply(tanh(in[0])); },
                              {agt::input({4}, 1.1)});
  // A function saving its own output.
  agt::check_gradients([](const std::vector<Tensor>& in) { return SelfExp::apply(in[0]); }, {agt::input({4}, 0.6)});
  agt::check_second_gradients([](const std::vector<Tensor>& in) { return SelfExp::apply(in[0] * 2.0); },
                              {agt::input({4}, 0.6)});
  Tensor x = tensor({0.5}, {1}, kFloat64).requires_grad_();
  const auto d1 = grad({sum(SelfExp::apply(x))}, {x}, {}, std::nullopt, true);
  const auto d2 = grad({sum(d1[0])}, {x});
  agt::check_values(d2[0], {std::exp(0.5)});
}

TEST_CASE("custom Function with saved_data: a clipped linear layer inside a bigger expression") {
  Tensor x = agt::input({3, 4}, 0.3, 0.7);
  Tensor w = agt::input({4, 2}, 1.9, 0.6);
  Tensor b = agt::input({2}, 0.8, 0.3);
  {
    NoGradGuard ng;
    const auto z = (matmul(x, w) + b).to_vector<double>();
    int clipped = 0, inside = 0;
    for (double v : z) {
      REQUIRE(std::min(std::abs(v - 0.5), std::abs(v + 0.5)) > 1e-3);  // away from the kinks
      (std::abs(v) > 0.5 ? clipped : inside) += 1;
    }
    CHECK(clipped > 0);  // both branches are exercised
    CHECK(inside > 0);
  }
  auto layer = [](const std::vector<Tensor>& in) { return ClippedLinear::apply(in[0], in[1], in[2], -0.5, 0.5); };
  agt::check_gradients(layer, {x, w, b});
  agt::check_second_gradients(layer, {x, w, b});
  Tensor v = agt::input({3}, 2.4);
  auto bigger = [](const std::vector<Tensor>& in) {
    const Tensor h = ClippedLinear::apply(tanh(in[0]), in[1] * 2.0, in[2], -0.5, 0.5);
    return sum(Cube::apply(h) * exp(in[1].sum())) + matmul(in[3], tanh(in[0])).sum() * in[2];
  };
  agt::check_gradients(bigger, {x, w, b, v});
  agt::check_second_gradients(bigger, {x, w, b, v});
}

TEST_CASE("custom Function: needs_input_grad tells backward which gradients are wanted") {
  Tensor x = agt::input({2, 3}, 0.3);
  Tensor w = agt::input({3, 2}, 1.9, 1.0, 0.0, /*requires_grad=*/false);
  Tensor b = agt::input({2}, 0.8);
  ClippedLinear::needs_seen.clear();
  Tensor y = ClippedLinear::apply(x, w, b, -10.0, 10.0);
  sum(y).backward();
  REQUIRE(ClippedLinear::needs_seen.size() == 1);
  CHECK(ClippedLinear::needs_seen[0] == std::vector<bool>{true, false, true});
  CHECK_FALSE(w.grad().defined());
  agt::check_values(b.grad(), {2.0, 2.0});  // nothing clipped: d(sum)/db = batch size
  std::vector<double> gx;
  const auto wv = w.to_vector<double>();
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 3; ++k) gx.push_back(wv[k * 2] + wv[k * 2 + 1]);
  agt::check_values(x.grad(), gx);

  // Only the inputs that require grad are flagged.
  ClippedLinear::needs_seen.clear();
  Tensor x2 = agt::input({2, 3}, 0.3, 1.0, 0.0, false);
  Tensor y2 = ClippedLinear::apply(x2, w, b, -10.0, 10.0);
  const auto g = grad({sum(y2)}, {b});
  REQUIRE(ClippedLinear::needs_seen.size() == 1);
  CHECK(ClippedLinear::needs_seen[0] == std::vector<bool>{false, false, true});
  agt::check_values(g[0], {2.0, 2.0});
}

TEST_CASE("custom Function: an undefined gradient means no gradient for that input") {
  Tensor a = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor b = tensor({3.0, -4.0}, {2}, kFloat64).requires_grad_();
  sum(NoGradForB::apply(a, b)).backward();
  agt::check_values(a.grad(), {3.0, -4.0});
  CHECK_FALSE(b.grad().defined());

  const auto g = grad({sum(NoGradForB::apply(a, b))}, {a, b}, {}, std::nullopt, false, /*allow_unused=*/true);
  agt::check_values(g[0], {3.0, -4.0});
  CHECK_FALSE(g[1].defined());
  CHECK_THROWS_AS(grad({sum(NoGradForB::apply(a, b))}, {a, b}), Error);

  // b also reached through another path: only that path contributes.
  const auto g2 = grad({sum(NoGradForB::apply(a, b)) + sum(b * b)}, {b});
  agt::check_values(g2[0], {6.0, -8.0});
}

TEST_CASE("custom Function: a backward returning a wrong shape or count is an ag::Error") {
  Tensor x = tensor({1.0, 2.0, 3.0}, {3}, kFloat64).requires_grad_();
  CHECK_THROWS_AS(sum(WrongShape::apply(x)).backward(), Error);
  try {
    grad({sum(WrongShape::apply(x))}, {x});
    FAIL("expected an error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(contains(msg, "backward returned"));
    CHECK(contains(msg, "[3]"));
  }
  CHECK_THROWS_AS(sum(TooMany::apply(x)).backward(), Error);
  try {
    sum(TooMany::apply(x)).backward();
  } catch (const Error& e) {
    CHECK(contains(e.what(), "2 gradients for 1"));
  }
  CHECK_FALSE(x.grad().defined());
  CHECK_THROWS_AS(Undefined::apply(x), Error);
}

TEST_CASE("custom Function: modifying a saved tensor in place is an error at backward") {
  Tensor x = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor y = Cube::apply(x);
  {
    NoGradGuard ng;
    x.mul_(2.0);
  }
  try {
    sum(y).backward();
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(contains(e.what(), "modified by an in-place operation"));
  }

  // A saved constant changed in place (allowed: it does not require grad) is caught too.
  Tensor c = tensor({2.0, 3.0}, {2}, kFloat64);
  Tensor z = tensor({1.0, 1.0}, {2}, kFloat64).requires_grad_();
  Tensor out = ScaleBy::apply(z, c);
  c.add_(1.0);
  CHECK_THROWS_AS(sum(out).backward(), Error);

  // Unchanged, it works.
  Tensor c2 = tensor({2.0, 3.0}, {2}, kFloat64);
  sum(ScaleBy::apply(z, c2)).backward();
  agt::check_values(z.grad(), {2.0, 3.0});
}

TEST_CASE("custom Function: returning an input gives a new recorded tensor") {
  Tensor x = tensor({1.0, -2.0}, {2}, kFloat64).requires_grad_();
  Tensor y = Identity::apply(x);
  CHECK(y.impl() != x.impl());
  CHECK_FALSE(y.is_leaf());
  agt::check_values(y, {1.0, -2.0});
  sum(y * y).backward();
  agt::check_values(x.grad(), {2.0, -4.0});
}
