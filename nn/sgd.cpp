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

}  // namespace ag::optim
