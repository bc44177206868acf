// Optimizers (SGD, Adam, AdamW) against hand-computed updates, parameter groups, and gradient clipping.
#include <cmath>
#include <limits>
#include <type_traits>

#include "nn/nn.h"
#include "test_util.h"

using namespace ag;

namespace {

Tensor param(std::initializer_list<double> v) {
  return tensor(v, {static_cast<std::int64_t>(v.size())}, kFloat64).requires_grad_();
}

void set_grad(const Tensor& p, const std::vector<double>& g) { p.set_grad(tensor(g, p.shape(), p.dtype())); }

// PyTorch's Adam / AdamW for one parameter, written out in double.
struct RefAdam {
  double lr, b1, b2, eps, wd;
  bool decoupled, amsgrad;
  std::vector<double> m, v, vmax;
  int t = 0;
  void step(std::vector<double>& p, const std::vector<double>& grad) {
    if (m.empty()) m = v = vmax = std::vector<double>(p.size(), 0.0);
    ++t;
    const double bc1 = 1.0 - std::pow(b1, t), bc2 = 1.0 - std::pow(b2, t);
    for (std::size_t i = 0; i < p.size(); ++i) {
      double g = grad[i];
      if (decoupled) p[i] *= 1.0 - lr * wd;
      else g += wd * p[i];
      m[i] = b1 * m[i] + (1.0 - b1) * g;
      v[i] = b2 * v[i] + (1.0 - b2) * g * g;
      vmax[i] = std::max(vmax[i], v[i]);
      const double denom = std::sqrt(amsgrad ? vmax[i] : v[i]) / std::sqrt(bc2) + eps;
      p[i] -= lr / bc1 * m[i] / denom;
    }
  }
};

double norm2(const std::vector<Tensor>& ps) {
  double s = 0;
  for (const auto& p : ps)
    for (double g : p.grad().to_vector<double>()) s += g * g;
  return std::sqrt(s);
}

}  // namespace

TEST_CASE("SGD: plain update is param -= lr * grad, exactly") {
  Tensor w = param({1.0, -2.0, 3.5});
  Tensor b = param({0.25});
  optim::SGD opt({w, b}, optim::SGDOptions(0.1));
  set_grad(w, {0.5, -1.0, 2.0});
  set_grad(b, {4.0});
  opt.step();
  CHECK(w.to_vector<double>() == std::vector<double>{1.0 - 0.1 * 0.5, -2.0 - 0.1 * -1.0, 3.5 - 0.1 * 2.0});
  CHECK(b.item<double>() == 0.25 - 0.1 * 4.0);
  CHECK(w.is_leaf());
  CHECK(w.requires_grad());
  // a real backward: loss = sum(w^2) -> grad 2w
  opt.zero_grad();
  CHECK_FALSE(w.grad().defined());
  const auto w0 = w.to_vector<double>();
  sum(w * w).backward();
  opt.step();
  for (std::size_t i = 0; i < w0.size(); ++i) CHECK(w.to_vector<double>()[i] == w0[i] - 0.1 * (2 * w0[i]));
  CHECK(b.item<double>() == 0.25 - 0.1 * 4.0);  // no grad: skipped
  // float32 parameters
  Tensor f = tensor({1.0, 2.0}, {2}).requires_grad_();
  optim::SGD of({f}, 0.5);
  set_grad(f, {1.0, -1.0});
  of.step();
  CHECK(f.to_vector<double>() == std::vector<double>{0.5, 2.5});
}

TEST_CASE("SGD: momentum with dampening, Nesterov and weight decay follow PyTorch's equations") {
  const std::vector<std::vector<double>> grads = {{1.0, -2.0}, {0.5, 0.25}, {-1.5, 3.0}};
  const double lr = 0.1, mu = 0.9, damp = 0.2, wd = 0.05;
  for (int variant = 0; variant < 4; ++variant) {
    // 0: momentum; 1: momentum + dampening; 2: Nesterov; 3: momentum + weight decay
    INFO("variant " << variant);
    optim::SGDOptions o(lr);
    o.momentum(mu);
    if (variant == 1) o.dampening(damp);
    if (variant == 2) o.nesterov(true);
    if (variant == 3) o.weight_decay(wd);
    Tensor w = param({0.5, -1.0});
    optim::SGD opt({w}, o);
    std::vector<double> p = {0.5, -1.0}, buf(2, 0.0);
    for (std::size_t t = 0; t < grads.size(); ++t) {
      set_grad(w, grads[t]);
      opt.step();
      for (std::size_t i = 0; i < 2; ++i) {
        double d = grads[t][i] + (variant == 3 ? wd * p[i] : 0.0);
        buf[i] = t == 0 ? d : mu * buf[i] + (1.0 - (variant == 1 ? damp : 0.0)) * d;
        d = variant == 2 ? d + mu * buf[i] : buf[i];
        p[i] -= lr * d;
      }
      agt::check_values(w, p, 1e-15);
    }
  }
  // hand numbers for the first two steps of plain momentum: buf1 = g1, buf2 = 0.9 g1 + g2
  Tensor w = param({0.0});
  optim::SGD opt({w}, optim::SGDOptions(1.0).momentum(0.9));
  set_grad(w, {1.0});
  opt.step();
  CHECK(w.item<double>() == -1.0);
  set_grad(w, {1.0});
  opt.step();
  CHECK(w.item<double>() == doctest::Approx(-2.9).epsilon(1e-15));
  // weight decay without momentum: p -= lr (g + wd p)
  Tensor v = param({2.0});
  optim::SGD wdopt({v}, optim::SGDOptions(0.5).weight_decay(0.1));
  set_grad(v, {1.0});
  wdopt.step();
  CHECK(v.item<double>() == doctest::Approx(2.0 - 0.5 * (1.0 + 0.2)).epsilon(1e-15));
  CHECK(wdopt.options().weight_decay() == 0.1);
}

TEST_CASE("Adam and AdamW: three steps against PyTorch's equations in double") {
  const std::vector<std::vector<double>> grads = {{0.5, -1.0, 2.0}, {0.1, 0.3, -0.7}, {-0.4, 0.2, 1.5}};
  struct Case {
    const char* name;
    double lr, b1, b2, eps, wd;
    bool decoupled, amsgrad;
  };
  const Case cases[] = {
      {"Adam", 0.1, 0.9, 0.999, 1e-8, 0.0, false, false},
      {"Adam weight_decay", 0.05, 0.8, 0.99, 1e-6, 0.1, false, false},
      {"AdamW", 0.1, 0.9, 0.999, 1e-8, 0.1, true, false},
      {"Adam amsgrad", 0.1, 0.9, 0.999, 1e-8, 0.0, false, true},
      {"AdamW amsgrad", 0.02, 0.5, 0.9, 1e-3, 0.5, true, true},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    Tensor w = param({1.0, -0.5, 0.25});
    std::unique_ptr<optim::Optimizer> opt;
    if (c.decoupled) {
      optim::AdamWOptions o(c.lr);
      o.betas(c.b1, c.b2).eps(c.eps).weight_decay(c.wd).amsgrad(c.amsgrad);
      opt = std::make_unique<optim::AdamW>(std::vector<Tensor>{w}, o);
    } else {
      opt = std::make_unique<optim::Adam>(
          std::vector<Tensor>{w},
          optim::AdamOptions(c.lr).betas(c.b1, c.b2).eps(c.eps).weight_decay(c.wd).amsgrad(c.amsgrad));
    }
    RefAdam ref{c.lr, c.b1, c.b2, c.eps, c.wd, c.decoupled, c.amsgrad, {}, {}, {}};
    std::vector<double> p = {1.0, -0.5, 0.25};
    for (const auto& g : grads) {
      set_grad(w, g);
      opt->step();
      ref.step(p, g);
      agt::check_values(w, p, 1e-12);
    }
  }
  // first step by hand: m = 0.1 g, v = 0.001 g^2, p -= lr * g / (|g| + eps)
  Tensor w = param({1.0});
  optim::Adam adam({w}, optim::AdamOptions(0.1));
  set_grad(w, {0.5});
  adam.step();
  CHECK(w.item<double>() == doctest::Approx(1.0 - 0.1 * 0.5 / (0.5 + 1e-8)).epsilon(1e-14));
  CHECK(optim::AdamWOptions().weight_decay() == 0.01);
  CHECK(optim::AdamOptions().weight_decay() == 0.0);
  CHECK(optim::AdamOptions().lr() == 1e-3);
}

TEST_CASE("Adam amsgrad keeps the running max of v (a decreasing gradient)") {
  const std::vector<std::vector<double>> grads = {{3.0}, {0.1}, {0.05}};
  Tensor a = param({1.0}), b = param({1.0});
  optim::Adam with({a}, optim::AdamOptions(0.1).amsgrad(true));
  optim::Adam without({b}, optim::AdamOptions(0.1));
  RefAdam ref{0.1, 0.9, 0.999, 1e-8, 0.0, false, true, {}, {}, {}};
  std::vector<double> p = {1.0};
  for (const auto& g : grads) {
    set_grad(a, g);
    set_grad(b, g);
    with.step();
    without.step();
    ref.step(p, g);
    agt::check_values(a, p, 1e-12);
  }
  CHECK(ref.vmax[0] > ref.v[0]);  // the max was active
  CHECK(a.item<double>() != b.item<double>());
}

TEST_CASE("optimizers: zero_grad, changing lr between steps, parameter groups, skipped parameters") {
  Tensor w = param({1.0, 2.0});
  optim::SGD opt({w}, optim::SGDOptions(0.1));
  CHECK(opt.lr() == 0.1);
  set_grad(w, {1.0, 1.0});
  opt.zero_grad(/*set_to_none=*/false);
  REQUIRE(w.grad().defined());
  CHECK(w.grad().to_vector<double>() == std::vector<double>{0.0, 0.0});
  opt.zero_grad();
  CHECK_FALSE(w.grad().defined());

  set_grad(w, {1.0, 1.0});
  opt.set_lr(0.5);
  CHECK(opt.lr() == 0.5);
  opt.step();
  CHECK(w.to_vector<double>() == std::vector<double>{0.5, 1.5});
  opt.param_groups()[0].lr = 0.25;
  opt.step();
  CHECK(w.to_vector<double>() == std::vector<double>{0.25, 1.25});

  // a second group with its own lr; set_lr changes every group
  Tensor v = param({10.0});
  opt.add_param_group({v}, 2.0);
  REQUIRE(opt.param_groups().size() == 2);
  CHECK(opt.param_groups()[1].lr == 2.0);
  set_grad(v, {1.0});
  opt.step();
  CHECK(v.item<double>() == 8.0);
  CHECK(w.to_vector<double>() == std::vector<double>{0.0, 1.0});
  opt.zero_grad();
  CHECK_FALSE(v.grad().defined());
  opt.set_lr(1.0);
  CHECK(opt.param_groups()[1].lr == 1.0);

  // Adam: a parameter without grad is skipped and keeps no state; its first update is a first step
  Tensor a = param({1.0}), b = param({2.0});
  optim::Adam adam({a, b}, optim::AdamOptions(0.1));
  for (int i = 0; i < 2; ++i) {
    set_grad(a, {1.0});
    adam.step();
  }
  CHECK(b.item<double>() == 2.0);
  set_grad(b, {-3.0});
  adam.step();
  CHECK(b.item<double>() == doctest::Approx(2.0 + 0.1 * 3.0 / (3.0 + 1e-8)).epsilon(1e-14));
  // Adam lr changes take effect
  Tensor c = param({1.0});
  optim::Adam adam2({c}, optim::AdamOptions(0.1));
  adam2.set_lr(0.3);
  set_grad(c, {2.0});
  adam2.step();
  CHECK(c.item<double>() == doctest::Approx(1.0 - 0.3 * 2.0 / (2.0 + 1e-8)).epsilon(1e-14));
  // Adam with a second group
  Tensor d = param({0.0});
  adam2.add_param_group({d}, 0.01);
  set_grad(d, {5.0});
  adam2.step();
  CHECK(d.item<double>() == doctest::Approx(-0.01 * 5.0 / (5.0 + 1e-8)).epsilon(1e-14));

  // a frozen module parameter (requires_grad false) is accepted and never changed
  nn::Module m;
  Tensor frozen = m.register_parameter("frozen", ones({2}, kFloat64), false);
  Tensor live = m.register_parameter("live", ones({2}, kFloat64));
  optim::SGD mopt(m.parameters(), optim::SGDOptions(1.0).momentum(0.5));
  sum(live * 3.0 + frozen).backward();
  mopt.step();
  CHECK(frozen.to_vector<double>() == std::vector<double>{1.0, 1.0});
  CHECK(live.to_vector<double>() == std::vector<double>{-2.0, -2.0});
}

TEST_CASE("optimizers: invalid options and parameters are ag::Errors") {
  Tensor w = param({1.0});
  CHECK_THROWS_AS(optim::SGD({w}, optim::SGDOptions(-0.1)), Error);
  CHECK_THROWS_AS(optim::SGD({w}, optim::SGDOptions(std::nan(""))), Error);
  CHECK_THROWS_AS(optim::SGD({w}, optim::SGDOptions(0.1).momentum(-0.5)), Error);
  CHECK_THROWS_AS(optim::SGD({w}, optim::SGDOptions(0.1).weight_decay(-1.0)), Error);
  CHECK_THROWS_AS(optim::SGD({w}, optim::SGDOptions(0.1).nesterov(true)), Error);
  CHECK_THROWS_AS(optim::SGD({w}, optim::SGDOptions(0.1).momentum(0.9).dampening(0.1).nesterov(true)), Error);
  CHECK_THROWS_AS(optim::Adam({w}, optim::AdamOptions(-1.0)), Error);
  CHECK_THROWS_AS(optim::Adam({w}, optim::AdamOptions(0.1).betas(1.0, 0.999)), Error);
  CHECK_THROWS_AS(optim::Adam({w}, optim::AdamOptions(0.1).betas(0.9, 1.0)), Error);
  CHECK_THROWS_AS(optim::Adam({w}, optim::AdamOptions(0.1).betas(-0.1, 0.999)), Error);
  CHECK_THROWS_AS(optim::Adam({w}, optim::AdamOptions(0.1).eps(-1.0)), Error);
  CHECK_THROWS_AS(optim::Adam({w}, optim::AdamOptions(0.1).weight_decay(-0.1)), Error);
  CHECK_THROWS_AS(optim::AdamW({w}, optim::AdamWOptions(-0.1)), Error);
  Tensor nonleaf = w * 2.0;
  CHECK_THROWS_AS(optim::SGD({nonleaf}, 0.1), Error);
  CHECK_THROWS_AS(optim::Adam({Tensor()}), Error);
  optim::SGD opt({w}, 0.1);
  CHECK_THROWS_AS(opt.set_lr(-1.0), Error);
  CHECK_THROWS_AS(opt.add_param_group({w}, -2.0), Error);
  CHECK_THROWS_AS(opt.add_param_group({nonleaf}, 0.1), Error);
  CHECK(opt.param_groups().size() == 1);
  CHECK(opt.lr() == 0.1);
  // a parameter listed twice, or already in another group, would be updated twice per step
  Tensor v = param({2.0});
  CHECK_THROWS_AS(optim::SGD({w, v, w}, 0.1), Error);
  CHECK_THROWS_AS(optim::Adam({v, v}), Error);
  CHECK_THROWS_AS(opt.add_param_group({v, w}, 0.1), Error);
  CHECK(opt.param_groups().size() == 1);
  opt.add_param_group({v}, 0.2);
  CHECK_THROWS_AS(opt.add_param_group({v}, 0.3), Error);
  CHECK(opt.param_groups().size() == 2);
}

TEST_CASE("clip_grad_norm_: returns the norm before clipping, scales to max_norm, no-op below") {
  Tensor a = param({0.0, 0.0}), b = param({0.0}), c = param({0.0});
  set_grad(a, {3.0, 4.0});
  set_grad(b, {12.0});
  const std::vector<Tensor> ps = {a, b, c};  // c has no grad: skipped
  CHECK(nn::utils::clip_grad_norm_(ps, 20.0) == doctest::Approx(13.0).epsilon(1e-15));
  CHECK(a.grad().to_vector<double>() == std::vector<double>{3.0, 4.0});  // below max_norm: untouched
  CHECK(b.grad().item<double>() == 12.0);
  CHECK(nn::utils::clip_grad_norm_(ps, 6.5) == doctest::Approx(13.0).epsilon(1e-15));
  CHECK(norm2({a, b}) == doctest::Approx(6.5).epsilon(1e-6));
  agt::check_values(a.grad(), {1.5, 2.0}, 1e-6);
  agt::check_values(b.grad(), {6.0}, 1e-6);
  CHECK_FALSE(c.grad().defined());

  set_grad(a, {3.0, -4.0});
  set_grad(b, {-12.0});
  CHECK(nn::utils::clip_grad_norm_(ps, 100.0, 1.0) == doctest::Approx(19.0).epsilon(1e-15));
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(nn::utils::clip_grad_norm_(ps, 6.0, inf) == 12.0);
  agt::check_values(a.grad(), {1.5, -2.0}, 1e-6);
  agt::check_values(b.grad(), {-6.0}, 1e-6);
  CHECK(nn::utils::clip_grad_norm_(ps, 6.0, inf) == doctest::Approx(6.0).epsilon(1e-6));
  CHECK(nn::utils::clip_grad_norm_({c}, 1.0) == 0.0);
  // float32 gradients and a model's parameters
  nn::Linear fc(3, 2);
  sum(fc(ones({4, 3})) * 100.0).backward();
  const double before = nn::utils::clip_grad_norm_(fc->parameters(), 1.0);
  CHECK(before > 1.0);
  CHECK(norm2(fc->parameters()) == doctest::Approx(1.0).epsilon(1e-5));

  CHECK_THROWS_AS(nn::utils::clip_grad_norm_(ps, -1.0), Error);
  CHECK_THROWS_AS(nn::utils::clip_grad_norm_(ps, 1.0, 0.0), Error);
  CHECK_THROWS_AS(nn::utils::clip_grad_norm_(ps, 1.0, -2.0), Error);
}

TEST_CASE("clip_grad_value_: clamps each element to [-c, c]") {
  Tensor a = param({0.0, 0.0, 0.0}), b = param({0.0});
  set_grad(a, {-3.0, 0.5, 2.0});
  nn::utils::clip_grad_value_({a, b}, 1.0);
  CHECK(a.grad().to_vector<double>() == std::vector<double>{-1.0, 0.5, 1.0});
  CHECK_FALSE(b.grad().defined());
  nn::utils::clip_grad_value_({a}, 0.0);
  CHECK(a.grad().to_vector<double>() == std::vector<double>{0.0, 0.0, 0.0});
  CHECK_THROWS_AS(nn::utils::clip_grad_value_({a}, -1.0), Error);
}

TEST_CASE("options: every setter of a derived options class returns the derived type, so chains keep it") {
  using W = optim::AdamWOptions;
  // Each setter of AdamWOptions (inherited from AdamOptions) must return AdamWOptions&, as libtorch's do.
  CHECK(std::is_same_v<decltype(W(0.1).lr(0.2)), W&>);
  CHECK(std::is_same_v<decltype(W(0.1).betas(0.8, 0.9)), W&>);
  CHECK(std::is_same_v<decltype(W(0.1).eps(1e-6)), W&>);
  CHECK(std::is_same_v<decltype(W(0.1).weight_decay(0.5)), W&>);
  CHECK(std::is_same_v<decltype(W(0.1).amsgrad(true)), W&>);
  // the base's setters still return the base's type, and the getters are unchanged
  CHECK(std::is_same_v<decltype(optim::AdamOptions(0.1).amsgrad(true)), optim::AdamOptions&>);
  CHECK(std::is_same_v<decltype(W(0.1).lr()), double>);
  CHECK(std::is_same_v<decltype(W(0.1).amsgrad()), bool>);
  // the same for a class that merely aliases another (nothing to fix, but it must keep holding)
  CHECK(std::is_same_v<decltype(nn::LSTMOptions(2, 3).batch_first(true)), nn::LSTMOptions&>);
  CHECK(std::is_same_v<decltype(nn::GRUCellOptions(2, 3).bias(false)), nn::GRUCellOptions&>);

  // a chain of every setter compiles into an AdamWOptions and sets each value
  const W o = W(0.1).lr(0.2).betas(0.8, 0.9).eps(1e-6).weight_decay(0.5).amsgrad(true);
  CHECK(o.lr() == 0.2);
  CHECK(o.beta1() == 0.8);
  CHECK(o.beta2() == 0.9);
  CHECK(o.eps() == 1e-6);
  CHECK(o.weight_decay() == 0.5);
  CHECK(o.amsgrad());
  CHECK(W(0.1).amsgrad(true).weight_decay() == 0.01);  // the default kept through a chain
  Tensor w = tensor({1.0, -2.0}, {2}, kFloat64).requires_grad_();
  optim::AdamW opt({w}, W(0.1).amsgrad(true).betas(0.5, 0.9));
  CHECK(opt.options().amsgrad());
  CHECK(opt.options().lr() == 0.1);
  CHECK(opt.options().beta1() == 0.5);
  CHECK(opt.options().weight_decay() == 0.01);
}
