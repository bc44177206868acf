#include "nn/optimizer.h"

#include <cmath>
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

Tensor Optimizer::step(const LossClosure& closure) {
  Tensor loss;
  if (closure) {
    AutoGradMode on(true);
    loss = closure();
  }
  step();
  return loss;
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

std::vector<Tensor> Optimizer::all_params() const {
  std::vector<Tensor> out;
  for (const auto& g : groups_) out.insert(out.end(), g.params.begin(), g.params.end());
  return out;
}

OptimizerState Optimizer::state() const {
  OptimizerState s;
  for (const auto& g : groups_) s.lrs.push_back(g.lr);
  export_state(s);
  for (auto& [i, ps] : s.params)
    for (auto& [k, t] : ps.tensors) t = t.detach().clone();
  return s;
}

void Optimizer::load_state(const OptimizerState& s) {
  if (s.lrs.size() != groups_.size())
    fail("{}: load_state: the state has {} parameter groups but the optimizer has {}", name(), s.lrs.size(),
         groups_.size());
  for (double lr : s.lrs)
    if (!(lr >= 0.0)) fail("{}: load_state: invalid learning rate {}", name(), lr);
  const auto n = static_cast<std::int64_t>(all_params().size());
  for (const auto& [i, ps] : s.params)
    if (i < 0 || i >= n) fail("{}: load_state: state for parameter {} but the optimizer has {}", name(), i, n);
  import_state(s);  // checks, then commits
  for (std::size_t k = 0; k < groups_.size(); ++k) groups_[k].lr = s.lrs[k];
}

double Optimizer::required_option(const OptimizerState& s, const std::string& key) const {
  auto it = s.options.find(key);
  if (it == s.options.end()) fail("{}: load_state: the hyper-parameter '{}' is missing", name(), key);
  if (!std::isfinite(it->second)) fail("{}: load_state: the hyper-parameter '{}' is {}", name(), key, it->second);
  return it->second;
}

Tensor Optimizer::state_tensor(const ParamState& ps, std::int64_t index, const std::string& key,
                               const Tensor& like) const {
  return state_tensor(ps, index, key, like.shape(), like.dtype());
}

Tensor Optimizer::state_tensor(const ParamState& ps, std::int64_t index, const std::string& key, const Shape& shape,
                               Dtype dtype) const {
  auto it = ps.tensors.find(key);
  if (it == ps.tensors.end()) fail("{}: load_state: parameter {} has no state tensor '{}'", name(), index, key);
  const Tensor& t = it->second;
  if (!t.defined() || t.shape() != shape || t.dtype() != dtype)
    fail("{}: load_state: state tensor '{}' of parameter {} is {} but {}{} was expected", name(), key, index,
         t.defined() ? describe(t) : std::string("undefined"), dtype_name(dtype), shape_str(shape));
  return t.detach().clone();
}

double Optimizer::state_scalar(const ParamState& ps, std::int64_t index, const std::string& key) const {
  auto it = ps.scalars.find(key);
  if (it == ps.scalars.end()) fail("{}: load_state: parameter {} has no state value '{}'", name(), index, key);
  if (!std::isfinite(it->second))
    fail("{}: load_state: state value '{}' of parameter {} is {}", name(), key, index, it->second);
  return it->second;
}

void Optimizer::set_lr(double lr) {
  if (!(lr >= 0.0)) fail("optimizer: invalid learning rate {}", lr);
  for (auto& g : groups_) g.lr = lr;
}

}  // namespace ag::optim
