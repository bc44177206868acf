// Two of the tools for looking inside gradients:
//  1. ag::autograd::functional::hessian of a small physics energy: three beads on a line joined by
//     springs (rest length 1) to each other and to walls at 0 and 4, with a quartic stiffening term.
//     The Hessian (the stiffness matrix) is symmetric, and its Hessian-vector product equals hvp's.
//  2. A training run that blows up: a model computing log(w . x) is trained with too large a learning
//     rate, w . x turns negative, and log makes the first NaN. Under DetectAnomalyGuard the step
//     stops at that op, and the error names it, its input's range and where it was called.
// Exit status 0 when both behave as described.
#include <fmt/core.h>

#include <cmath>
#include <string>

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

  // 2. Training that hits a NaN, stopped where it was born.
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
