#include "nn/optimizer.h"

#include <unordered_set>

namespace ag::optim {

Optimizer::Optimizer(const std::vector<Tensor>& params, double lr) { add_param_group(params, lr); }

void Optimizer::add_param_group(const std::vector<Tensor>& params, double lr) {
  if (!(lr >= 0.0)) fail("optimizer: invalid learning rate {}", lr);
  for (const auto& p : params) {
    if (!p.defined()) fail("optimizer: a parameter is undefined");
    if (!p.is_leaf()) fail("optimizer: can only optimize leaves, got the result of an op {}", describe(p));
  }
  std::unordered_set<const TensorImpl*> seen;
  for (const auto& g : groups_)
    for (const auto& p : g.params) seen.insert(p.impl());
  for (const auto& p : params)
    if (!seen.insert(p.impl()).second)
      fail("optimizer: parameter {} appears twice (it would be updated twice per step)", describe(p));
  groups_.push_back({params, lr});
}

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard ng;
  for (auto& g : groups_)
    for (auto& p : g.params) {
      if (!p.grad().defined()) continue;
      if (set_to_none) p.set_grad(Tensor());
      else p.grad().zero_();
    }
}

double Optimizer::lr() const { return groups_.empty() ? 0.0 : groups_[0].lr; }

void Optimizer::set_lr(double lr) {
  if (!(lr >= 0.0)) fail("optimizer: invalid learning rate {}", lr);
  for (auto& g : groups_) g.lr = lr;
}

}  // namespace ag::optim
