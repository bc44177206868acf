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
std::vector<Tensor> function_input_grads(const std::string& name, const std::vector<std::int32_t>& arg_input,
                                         const std::vector<Tensor>& inputs, std::vector<Tensor> grads) {
  const std::size_t n_args = arg_input.size();
  for (std::size_t i = n_args; i < grads.size(); ++i)
    if (grads[i].defined())
      fail(
          "{}::backward returned {} gradients for {} arguments of forward (one per argument, in order; any past the "
          "last argument must be undefined)",
          name, grads.size(), n_args);
  std::vector<Tensor> out(inputs.size());
  for (std::size_t i = 0; i < grads.size() && i < n_args; ++i) {
    if (!grads[i].defined()) continue;
    const std::int32_t j = arg_input[i];
    if (j < 0)
      fail(
          "{}::backward returned a defined gradient at position {} ({}), but argument {} of forward is not a Tensor "
          "(return an undefined Tensor() there)",
          name, i, describe(grads[i]), i);
    const Tensor& in = inputs[static_cast<std::size_t>(j)];
    if (!in.defined()) continue;  // an undefined Tensor argument (an absent bias) gets no gradient
    if (grads[i].shape() != in.shape() || grads[i].dtype() != in.dtype())
      fail("{}::backward returned gradient {} for argument {} of {}", name, describe(grads[i]), i, describe(in));
    out[static_cast<std::size_t>(j)] = std::move(grads[i]);
  }
  return out;
}
}  // namespace detail

}  // namespace ag
