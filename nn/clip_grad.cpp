#include "nn/clip_grad.h"

#include <cmath>
#include <limits>

namespace ag::nn::utils {

double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type) {
  if (!(max_norm >= 0)) fail("clip_grad_norm_: max_norm must be >= 0, got {}", max_norm);
  if (!(norm_type > 0)) fail("clip_grad_norm_: norm_type must be > 0, got {}", norm_type);
  const bool inf = std::isinf(norm_type);
  double acc = 0;
  for (const auto& p : parameters) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    for (double v : g.to_vector<double>()) {
      const double a = std::abs(v);
      acc = inf ? std::max(acc, a) : acc + std::pow(a, norm_type);
    }
  }
  const double total = inf ? acc : std::pow(acc, 1.0 / norm_type);
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1.0) {
    NoGradGuard ng;
    for (const auto& p : parameters)
      if (p.grad().defined()) p.grad().mul_(coef);
  }
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value) {
  if (!(clip_value >= 0)) fail("clip_grad_value_: clip_value must be >= 0, got {}", clip_value);
  NoGradGuard ng;
  for (const auto& p : parameters) {
    Tensor g = p.grad();
    if (g.defined()) g.copy_(clamp(g, -clip_value, clip_value));
  }
}

}  // namespace ag::nn::utils
