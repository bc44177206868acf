#include "nn/sgd.h"

namespace ag::optim {

SGD::SGD(const std::vector<Tensor>& params, const SGDOptions& o) : Optimizer(params, o.lr()), options_(o) {
  if (o.momentum() < 0 || o.weight_decay() < 0)
    fail("SGD: invalid momentum {} or weight_decay {}", o.momentum(), o.weight_decay());
  if (o.nesterov() && (o.momentum() <= 0 || o.dampening() != 0))
    fail("SGD: Nesterov momentum requires a momentum > 0 and zero dampening");
}

void SGD::step() {
  NoGradGuard ng;
  const double mu = options_.momentum(), damp = options_.dampening(), wd = options_.weight_decay();
  for (auto& group : groups_) {
    for (auto& p : group.params) {
      const Tensor grad = p.grad();
      if (!grad.defined()) continue;
      dispatch_floating(p.dtype(), "SGD", [&]<class T>() {
        T* w = p.data<T>();
        const T* g = grad.cdata<T>();
        const std::int64_t n = p.numel();
        T* buf = nullptr;
        bool first = false;
        if (mu != 0) {
          auto it = momentum_buffers_.find(p.impl());
          if (it == momentum_buffers_.end()) {
            it = momentum_buffers_.emplace(p.impl(), zeros_like(p)).first;
            first = true;
          }
          buf = it->second.template data<T>();
        }
        const T lr = static_cast<T>(group.lr), tmu = static_cast<T>(mu), tdamp = static_cast<T>(damp),
                twd = static_cast<T>(wd);
        const bool nesterov = options_.nesterov();
        parallel_for(0, n, kParallelGrain, [&](std::int64_t begin, std::int64_t end) {
          for (std::int64_t i = begin; i < end; ++i) {
            T d = g[i] + twd * w[i];
            if (buf) {
              buf[i] = first ? d : tmu * buf[i] + (T(1) - tdamp) * d;
              d = nesterov ? d + tmu * buf[i] : buf[i];
            }
            w[i] -= lr * d;
          }
        });
      });
      p.bump_version();
    }
  }
}

void SGD::export_state(OptimizerState& s) const {
  s.options = {{"momentum", options_.momentum()},
               {"dampening", options_.dampening()},
               {"weight_decay", options_.weight_decay()},
               {"nesterov", options_.nesterov() ? 1.0 : 0.0}};
  const auto params = all_params();
  for (std::size_t i = 0; i < params.size(); ++i) {
    auto it = momentum_buffers_.find(params[i].impl());
    if (it != momentum_buffers_.end()) s.params[static_cast<std::int64_t>(i)].tensors["momentum_buffer"] = it->second;
  }
}

void SGD::import_state(const OptimizerState& s) {
  SGDOptions o(s.lrs.empty() ? options_.lr() : s.lrs[0]);
  o.momentum(required_option(s, "momentum"))
      .dampening(required_option(s, "dampening"))
      .weight_decay(required_option(s, "weight_decay"))
      .nesterov(required_option(s, "nesterov") != 0.0);
  if (o.momentum() < 0 || o.weight_decay() < 0)
    fail("SGD: load_state: invalid momentum {} or weight_decay {}", o.momentum(), o.weight_decay());
  if (o.nesterov() && (o.momentum() <= 0 || o.dampening() != 0))
    fail("SGD: load_state: Nesterov momentum requires a momentum > 0 and zero dampening");
  const auto params = all_params();
  std::unordered_map<const TensorImpl*, Tensor> buffers;
  for (const auto& [i, ps] : s.params)
    buffers.emplace(params[static_cast<std::size_t>(i)].impl(),
                    state_tensor(ps, i, "momentum_buffer", params[static_cast<std::size_t>(i)]));
  options_ = o;
  momentum_buffers_ = std::move(buffers);
}

}  // namespace ag::optim
