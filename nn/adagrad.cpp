#include "nn/adagrad.h"

#include <cmath>

namespace ag::optim {

namespace {

void check_options(const AdagradOptions& o, const char* where) {
  if (!(o.lr() >= 0) || !(o.lr_decay() >= 0) || !(o.weight_decay() >= 0) || !(o.initial_accumulator_value() >= 0) ||
      !(o.eps() >= 0))
    fail(
        "Adagrad{}: invalid hyper-parameters lr {}, lr_decay {}, weight_decay {}, initial_accumulator_value {}, eps {} "
        "(all must be >= 0)",
        where, o.lr(), o.lr_decay(), o.weight_decay(), o.initial_accumulator_value(), o.eps());
}

}  // namespace

Adagrad::Adagrad(const std::vector<Tensor>& params, const AdagradOptions& o) : Optimizer(params, o.lr()), options_(o) {
  check_options(o, "");
}

void Adagrad::step() {
  NoGradGuard ng;
  const double wd = options_.weight_decay(), eps = options_.eps();
  for (auto& group : groups_) {
    for (auto& p : group.params) {
      const Tensor grad = p.grad();
      if (!grad.defined()) continue;
      State& s = state_[p.impl()];
      if (!s.sum.defined()) s.sum = full_like(p, options_.initial_accumulator_value());
      ++s.step;
      const double clr = group.lr / (1.0 + static_cast<double>(s.step - 1) * options_.lr_decay());
      dispatch_floating(p.dtype(), "Adagrad", [&]<class T>() {
        T* w = p.data<T>();
        const T* g = grad.cdata<T>();
        T* acc = s.sum.data<T>();
        const T twd = static_cast<T>(wd), teps = static_cast<T>(eps), tclr = static_cast<T>(clr);
        for (std::int64_t i = 0; i < p.numel(); ++i) {
          const T gi = wd != 0 ? g[i] + twd * w[i] : g[i];
          acc[i] += gi * gi;
          w[i] -= tclr * (gi / (std::sqrt(acc[i]) + teps));
        }
      });
      p.bump_version();
    }
  }
}

void Adagrad::export_state(OptimizerState& s) const {
  s.options = {{"lr_decay", options_.lr_decay()},
               {"weight_decay", options_.weight_decay()},
               {"initial_accumulator_value", options_.initial_accumulator_value()},
               {"eps", options_.eps()}};
  const auto params = all_params();
  for (std::size_t i = 0; i < params.size(); ++i) {
    auto it = state_.find(params[i].impl());
    if (it == state_.end()) continue;
    ParamState& ps = s.params[static_cast<std::int64_t>(i)];
    ps.scalars["step"] = static_cast<double>(it->second.step);
    ps.tensors["sum"] = it->second.sum;
  }
}

void Adagrad::import_state(const OptimizerState& s) {
  AdagradOptions o(s.lrs.empty() ? options_.lr() : s.lrs[0]);
  o.lr_decay(required_option(s, "lr_decay"))
      .weight_decay(required_option(s, "weight_decay"))
      .initial_accumulator_value(required_option(s, "initial_accumulator_value"))
      .eps(required_option(s, "eps"));
  check_options(o, ": load_state");
  const auto params = all_params();
  std::unordered_map<const TensorImpl*, State> state;
  for (const auto& [i, ps] : s.params) {
    const Tensor& p = params[static_cast<std::size_t>(i)];
    State st;
    const double step = state_scalar(ps, i, "step");
    if (step < 0 || step != std::floor(step)) fail("Adagrad: load_state: parameter {} has step {}", i, step);
    st.step = static_cast<std::int64_t>(step);
    st.sum = state_tensor(ps, i, "sum", p);
    state.emplace(p.impl(), std::move(st));
  }
  options_ = o;
  state_ = std::move(state);
}

}  // namespace ag::optim
