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

void Adam::export_state(OptimizerState& s) const {
  s.options = {{"beta1", options_.beta1()},
               {"beta2", options_.beta2()},
               {"eps", options_.eps()},
               {"weight_decay", options_.weight_decay()},
               {"amsgrad", options_.amsgrad() ? 1.0 : 0.0}};
  const auto params = all_params();
  for (std::size_t i = 0; i < params.size(); ++i) {
    auto it = state_.find(params[i].impl());
    if (it == state_.end() || it->second.step == 0) continue;
    ParamState& ps = s.params[static_cast<std::int64_t>(i)];
    ps.scalars["step"] = static_cast<double>(it->second.step);
    ps.tensors["exp_avg"] = it->second.exp_avg;
    ps.tensors["exp_avg_sq"] = it->second.exp_avg_sq;
    if (it->second.max_exp_avg_sq.defined()) ps.tensors["max_exp_avg_sq"] = it->second.max_exp_avg_sq;
  }
}

void Adam::import_state(const OptimizerState& s) {
  AdamOptions o(s.lrs.empty() ? options_.lr() : s.lrs[0]);
  o.betas(required_option(s, "beta1"), required_option(s, "beta2"))
      .eps(required_option(s, "eps"))
      .weight_decay(required_option(s, "weight_decay"))
      .amsgrad(required_option(s, "amsgrad") != 0.0);
  if (o.beta1() < 0 || o.beta1() >= 1 || o.beta2() < 0 || o.beta2() >= 1 || o.eps() < 0 || o.weight_decay() < 0)
    fail("{}: load_state: invalid hyper-parameters", name());
  const auto params = all_params();
  std::unordered_map<const TensorImpl*, State> state;
  for (const auto& [i, ps] : s.params) {
    const Tensor& p = params[static_cast<std::size_t>(i)];
    State st;
    const double step = state_scalar(ps, i, "step");
    if (step < 1 || step != std::floor(step)) fail("{}: load_state: parameter {} has step {}", name(), i, step);
    st.step = static_cast<std::int64_t>(step);
    st.exp_avg = state_tensor(ps, i, "exp_avg", p);
    st.exp_avg_sq = state_tensor(ps, i, "exp_avg_sq", p);
    // a state saved without amsgrad gets a zero running max, as PyTorch's lazily created one
    st.max_exp_avg_sq = ps.tensors.count("max_exp_avg_sq") ? state_tensor(ps, i, "max_exp_avg_sq", p)
                        : o.amsgrad()                      ? zeros_like(p)
                                                           : Tensor();
    state.emplace(p.impl(), std::move(st));
  }
  options_ = o;
  state_ = std::move(state);
}

}  // namespace ag::optim
