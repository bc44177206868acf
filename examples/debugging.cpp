// Three of the tools for looking inside gradients:
//  1. ag::autograd::functional::hessian of a small physics energy: three beads on a line joined by
//     springs (rest length 1) to each other and to walls at 0 and 4, with a quartic stiffening term.
//     The Hessian (the stiffness matrix) is symmetric, and its Hessian-vector product equals hvp's.
//  2. Forward mode (ag::autograd::forward_ad): the sensitivities of a damped pendulum's state after
//     20 Runge-Kutta steps to its two parameters, one forward pass per parameter with a dual input,
//     equal to reverse mode's Jacobian and to finite differences.
//  3. A training run that blows up: a model computing log(w . x) is trained with too large a learning
//     rate, w . x turns negative, and log makes the first NaN. Under DetectAnomalyGuard the step
//     stops at that op, and the error names it, its input's range and where it was called.
// Exit status 0 when both behave as described.
#include <fmt/core.h>

#include <cmath>
#include <string>
#include <vector>

#include "nn/nn.h"

namespace F = ag::autograd::functional;

namespace {

// Energy of the bead positions x [3]: springs wall-x0, x0-x1, x1-x2, x2-wall.
ag::Tensor energy(const ag::Tensor& x) {
  const ag::Tensor walls = ag::tensor({0.0, 4.0}, {2}, ag::kFloat64);
  const ag::Tensor all = ag::cat({walls.narrow(0, 0, 1), x, walls.narrow(0, 1, 1)}, 0);  // [5]
  const ag::Tensor stretch = all.narrow(0, 1, 4) - all.narrow(0, 0, 4) - 1.0;            // [4]
  return (0.5 * stretch * stretch + 0.25 * stretch.pow(4.0)).sum();
}

// A damped pendulum, theta'' = -k sin(theta) - c theta': state s = (theta, omega), parameters p = (k, c).
ag::Tensor pendulum(const ag::Tensor& s, const ag::Tensor& p) {
  const ag::Tensor theta = s.narrow(0, 0, 1), omega = s.narrow(0, 1, 1);
  return ag::cat({omega, -p.narrow(0, 0, 1) * ag::sin(theta) - p.narrow(0, 1, 1) * omega}, 0);
}

// `steps` classical Runge-Kutta steps of size dt from s0.
ag::Tensor integrate(const ag::Tensor& s0, const ag::Tensor& p, int steps = 20, double dt = 0.05) {
  ag::Tensor s = s0;
  for (int i = 0; i < steps; ++i) {
    const ag::Tensor k1 = pendulum(s, p);
    const ag::Tensor k2 = pendulum(s + k1 * (dt / 2), p);
    const ag::Tensor k3 = pendulum(s + k2 * (dt / 2), p);
    const ag::Tensor k4 = pendulum(s + k3 * dt, p);
    s = s + (k1 + k2 * 2.0 + k3 * 2.0 + k4) * (dt / 6);
  }
  return s;
}

// A prediction log(w . x) that needs w . x > 0.
ag::Tensor predict(const ag::Tensor& w, const ag::Tensor& x) { return ag::log(ag::matmul(x, w)); }

}  // namespace

int main() {
  // 1. The Hessian of the energy at a stretched configuration.
  const ag::Tensor x = ag::tensor({1.2, 1.9, 3.1}, {3}, ag::kFloat64);
  const ag::Tensor H = F::hessian(energy, x);
  fmt::print("stiffness matrix (the energy's Hessian) at x = {}:\n{}\n", ag::str(x), ag::str(H));
  const ag::Tensor asym = (H - H.t()).abs().max();
  const ag::Tensor v = ag::tensor({1.0, -1.0, 0.5}, {3}, ag::kFloat64);
  const ag::Tensor hv_error = (F::hvp(energy, x, v).second - ag::matmul(H, v)).abs().max();
  fmt::print("max |H - H^T| = {:.3g}, max |hvp - H v| = {:.3g}\n", asym.item<double>(), hv_error.item<double>());
  if (asym.item<double>() > 1e-12 || hv_error.item<double>() > 1e-12) return 1;

  // 2. Sensitivities of the pendulum's final state to (k, c) by forward mode: column j of the
  //    Jacobian is the tangent of the result when p carries the j-th unit tangent.
  namespace fw = ag::autograd::forward_ad;
  const ag::Tensor s0 = ag::tensor({0.8, 0.0}, {2}, ag::kFloat64);
  const ag::Tensor p = ag::tensor({9.81, 0.3}, {2}, ag::kFloat64);
  std::vector<ag::Tensor> columns;
  {
    fw::dual_level level;
    for (std::int64_t j = 0; j < 2; ++j) {
      const ag::Tensor e = ag::tensor({j == 0 ? 1.0 : 0.0, j == 1 ? 1.0 : 0.0}, {2}, ag::kFloat64);
      columns.push_back(fw::unpack_dual(integrate(s0, fw::make_dual(p, e))).tangent);
    }
  }
  const ag::Tensor J_fwd = ag::stack(columns, 1);  // [state, parameter]
  const ag::Tensor J_rev = F::jacobian([&](const ag::Tensor& q) { return integrate(s0, q); }, p);
  ag::Tensor J_fd = ag::zeros({2, 2}, ag::kFloat64);
  for (std::int64_t j = 0; j < 2; ++j) {
    const double h = 1e-6;
    const ag::Tensor e = ag::tensor({j == 0 ? h : 0.0, j == 1 ? h : 0.0}, {2}, ag::kFloat64);
    J_fd.select(1, j).copy_((integrate(s0, p + e) - integrate(s0, p - e)) / (2 * h));
  }
  fmt::print("d(theta, omega)(t = 1) / d(k, c) by forward mode:\n{}\n", ag::str(J_fwd));
  const double vs_rev = (J_fwd - J_rev).abs().max().item<double>();
  const double vs_fd = (J_fwd - J_fd).abs().max().item<double>();
  fmt::print("max |forward - reverse| = {:.3g}, max |forward - finite differences| = {:.3g}\n", vs_rev, vs_fd);
  if (!(vs_rev < 1e-12) || !(vs_fd < 1e-6)) return 1;

  // 3. Training that hits a NaN, stopped where it was born.
  ag::manual_seed(0);
  const ag::Tensor data = ag::rand({16, 2}, ag::kFloat64) + 0.1;
  const ag::Tensor target = ag::full({16, 1}, -3.0, ag::kFloat64);
  ag::Tensor w = ag::full({2, 1}, 0.5, ag::kFloat64).requires_grad_();
  ag::autograd::DetectAnomalyGuard anomaly;
  for (int step = 0; step < 50; ++step) {
    try {
      const ag::Tensor loss = ag::mse_loss(predict(w, data), target);
      loss.backward();
      ag::NoGradGuard no_grad;
      w.sub_(w.grad() * 5.0);  // far too large a step: w . x soon turns negative
      w.grad().zero_();
      fmt::print("step {}: loss {:.4f}\n", step, loss.item<double>());
    } catch (const ag::Error& e) {
      const std::string what = e.what();
      fmt::print("step {} stopped by anomaly detection:\n{}\n", step, what);
      return what.find("op 'log'") != std::string::npos ? 0 : 1;
    }
  }
  fmt::print("no NaN appeared in 50 steps\n");
  return 1;
}
