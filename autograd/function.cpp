#include "autograd/function.h"

namespace ag {

void AutogradContext::save_for_backward(const std::vector<Tensor>& ts) {
  saved_.clear();
  raw_.clear();
  for (const auto& t : ts) {
    saved_.emplace_back(t);
    raw_.push_back(t.impl_ptr());
  }
}

std::vector<Tensor> AutogradContext::get_saved_variables() const {
  std::vector<Tensor> out;
  for (const auto& s : saved_) out.push_back(s.get("custom function backward"));
  return out;
}

void AutogradContext::rebind_output(const Tensor& out) {
  for (std::size_t i = 0; i < raw_.size(); ++i)
    if (raw_[i] && raw_[i].get() == out.impl()) saved_[i] = SavedTensor::not_profiled(out);  // bytes told already
  raw_.clear();
}

namespace detail {
void check_function_grads(const char* name, const std::vector<Tensor>& inputs, const std::vector<Tensor>& grads) {
  if (grads.size() != inputs.size())
    fail("{}::backward returned {} gradients for {} tensor inputs", name, grads.size(), inputs.size());
  for (std::size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined() || !inputs[i].defined()) continue;
    if (grads[i].shape() != inputs[i].shape() || grads[i].dtype() != inputs[i].dtype())
      fail("{}::backward returned gradient {} for input {} of {}", name, describe(grads[i]), i, describe(inputs[i]));
  }
}
}  // namespace detail

}  // namespace ag
