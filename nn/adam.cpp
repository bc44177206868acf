#include "nn/adam.h"

#include <cmath>

namespace ag::optim {

Adam::Adam(const std::vector<Tensor>& params, const AdamOptions& o) : Adam(params, o, false) {}

Adam::Adam(const std::vector<Tensor>& params, const AdamOptions& o, bool decoupled)
    : Optimizer(params, o.lr()), options_(o), decoupled_(decoupled) {
  if (o.beta1() < 0 || o.beta1() >= 1 || o.beta2() < 0 || o.beta2() >= 1)
    fail("Adam: betas must be in [0, 1), got ({}, {})", o.beta1(), o.beta2());
  if (o.eps() < 0 || o.weight_decay() < 0) fail("Adam: invalid eps {} or weight_decay {}", o.eps(), o.weight_decay());
}

void Adam::step() {
  NoGradGuard ng;
  const double b1 = options_.beta1(), b2 = options_.beta2(), eps = options_.eps(), wd = options_.weight_decay();
  for (auto& group : groups_) {
    for (auto& p : group.params) {
      const Tensor grad = p.grad();
      if (!grad.defined()) continue;
      State& s = state_[p.impl()];
      if (s.step == 0) {
        s.exp_avg = zeros_like(p);
        s.exp_avg_sq = zeros_like(p);
        if (options_.amsgrad()) s.max_exp_avg_sq = zeros_like(p);
      }
      ++s.step;
      const double bc1 = 1.0 - std::pow(b1, static_cast<double>(s.step));
      const double bc2 = 1.0 - std::pow(b2, static_cast<double>(s.step));
      const double step_size = group.lr / bc1;
      const double sqrt_bc2 = std::sqrt(bc2);
      dispatch_floating(p.dtype(), "Adam", [&]<class T>() {
        T* w = p.data<T>();
        const T* g = grad.cdata<T>();
        T* m = s.exp_avg.data<T>();
        T* v = s.exp_avg_sq.data<T>();
        T* vmax = options_.amsgrad() ? s.max_exp_avg_sq.data<T>() : nullptr;
        for (std::int64_t i = 0; i < p.numel(); ++i) {
          T gi = g[i];
          if (decoupled_) w[i] *= static_cast<T>(1.0 - group.lr * wd);
          else gi += static_cast<T>(wd) * w[i];
          m[i] = static_cast<T>(b1) * m[i] + static_cast<T>(1.0 - b1) * gi;
          v[i] = static_cast<T>(b2) * v[i] + static_cast<T>(1.0 - b2) * gi * gi;
          T vv = v[i];
          if (vmax) vv = vmax[i] = std::max(vmax[i], v[i]);
          const T denom = std::sqrt(vv) / static_cast<T>(sqrt_bc2) + static_cast<T>(eps);
          w[i] -= static_cast<T>(step_size) * m[i] / denom;
        }
      });
      p.bump_version();
    }
  }
}

}  // namespace ag::optim
