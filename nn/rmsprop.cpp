#include "nn/rmsprop.h"

#include <cmath>

namespace ag::optim {

namespace {

void check_options(const RMSpropOptions& o, const char* where) {
  if (!(o.lr() >= 0) || !(o.alpha() >= 0) || !(o.eps() >= 0) || !(o.weight_decay() >= 0) || !(o.momentum() >= 0))
    fail("RMSprop{}: invalid hyper-parameters lr {}, alpha {}, eps {}, weight_decay {}, momentum {} (all must be >= 0)",
         where, o.lr(), o.alpha(), o.eps(), o.weight_decay(), o.momentum());
}

}  // namespace

RMSprop::RMSprop(const std::vector<Tensor>& params, const RMSpropOptions& o) : Optimizer(params, o.lr()), options_(o) {
  check_options(o, "");
}

void RMSprop::step() {
  NoGradGuard ng;
  const double alpha = options_.alpha(), eps = options_.eps(), wd = options_.weight_decay(), mu = options_.momentum();
  const bool centered = options_.centered();
  for (auto& group : groups_) {
    for (auto& p : group.params) {
      const Tensor grad = p.grad();
      if (!grad.defined()) continue;
      State& s = state_[p.impl()];
      if (!s.square_avg.defined()) s.square_avg = zeros_like(p);
      if (mu > 0 && !s.momentum_buffer.defined()) s.momentum_buffer = zeros_like(p);
      if (centered && !s.grad_avg.defined()) s.grad_avg = zeros_like(p);
      ++s.step;
      dispatch_floating(p.dtype(), "RMSprop", [&]<class T>() {
        T* w = p.data<T>();
        const T* g = grad.cdata<T>();
        T* v = s.square_avg.data<T>();
        T* a = centered ? s.grad_avg.data<T>() : nullptr;
        T* b = mu > 0 ? s.momentum_buffer.data<T>() : nullptr;
        const T talpha = static_cast<T>(alpha), one_m = static_cast<T>(1.0 - alpha), teps = static_cast<T>(eps),
                twd = static_cast<T>(wd), tmu = static_cast<T>(mu), lr = static_cast<T>(group.lr);
        for (std::int64_t i = 0; i < p.numel(); ++i) {
          const T gi = wd != 0 ? g[i] + twd * w[i] : g[i];
          v[i] = v[i] * talpha + one_m * (gi * gi);
          T avg;
          if (a) {
            a[i] = a[i] * talpha + one_m * gi;
            avg = std::sqrt(v[i] - a[i] * a[i]) + teps;
          } else {
            avg = std::sqrt(v[i]) + teps;
          }
          if (b) {
            b[i] = b[i] * tmu + gi / avg;
            w[i] -= lr * b[i];
          } else {
            w[i] -= lr * (gi / avg);
          }
        }
      });
      p.bump_version();
    }
  }
}

void RMSprop::export_state(OptimizerState& s) const {
  s.options = {{"alpha", options_.alpha()},
               {"eps", options_.eps()},
               {"weight_decay", options_.weight_decay()},
               {"momentum", options_.momentum()},
               {"centered", options_.centered() ? 1.0 : 0.0}};
  const auto params = all_params();
  for (std::size_t i = 0; i < params.size(); ++i) {
    auto it = state_.find(params[i].impl());
    if (it == state_.end()) continue;
    ParamState& ps = s.params[static_cast<std::int64_t>(i)];
    ps.scalars["step"] = static_cast<double>(it->second.step);
    ps.tensors["square_avg"] = it->second.square_avg;
    if (it->second.momentum_buffer.defined()) ps.tensors["momentum_buffer"] = it->second.momentum_buffer;
    if (it->second.grad_avg.defined()) ps.tensors["grad_avg"] = it->second.grad_avg;
  }
}

void RMSprop::import_state(const OptimizerState& s) {
  RMSpropOptions o(s.lrs.empty() ? options_.lr() : s.lrs[0]);
  o.alpha(required_option(s, "alpha"))
      .eps(required_option(s, "eps"))
      .weight_decay(required_option(s, "weight_decay"))
      .momentum(required_option(s, "momentum"))
      .centered(required_option(s, "centered") != 0.0);
  check_options(o, ": load_state");
  const auto params = all_params();
  std::unordered_map<const TensorImpl*, State> state;
  for (const auto& [i, ps] : s.params) {
    const Tensor& p = params[static_cast<std::size_t>(i)];
    State st;
    const double step = state_scalar(ps, i, "step");
    if (step < 0 || step != std::floor(step)) fail("RMSprop: load_state: parameter {} has step {}", i, step);
    st.step = static_cast<std::int64_t>(step);
    st.square_avg = state_tensor(ps, i, "square_avg", p);
    if (ps.tensors.count("momentum_buffer")) st.momentum_buffer = state_tensor(ps, i, "momentum_buffer", p);
    if (o.centered()) st.grad_avg = state_tensor(ps, i, "grad_avg", p);  // required: centered from the start
    state.emplace(p.impl(), std::move(st));
  }
  options_ = o;
  state_ = std::move(state);
}

}  // namespace ag::optim
