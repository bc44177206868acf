#pragma once
/// @file optimizer.h
/// ag::optim::Optimizer: parameter groups, zero_grad(), step(), a learning rate per group.

#include <memory>
#include <vector>

#include <autograd/autograd.h>

namespace ag::optim {

/// A set of parameters sharing hyper-parameters; `lr` can be changed between steps.
struct ParamGroup {
  std::vector<Tensor> params;
  double lr = 0.0;
};

/// Base of the optimizers. Updates run under NoGradGuard and skip parameters without a gradient
/// (so a frozen parameter, one that does not require grad, may be passed and is never changed).
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  /// Applies one update to every parameter that has a gradient.
  virtual void step() = 0;
  /// Clears every gradient (set_to_none, libtorch's default) or zeroes it.
  void zero_grad(bool set_to_none = true);
  /// Adds parameters with their own learning rate. A parameter already in a group (or listed twice)
  /// is an ag::Error, as is a non-leaf.
  void add_param_group(const std::vector<Tensor>& params, double lr);
  std::vector<ParamGroup>& param_groups() { return groups_; }
  /// Learning rate of group 0; set_lr changes it for every group.
  double lr() const;
  void set_lr(double lr);

 protected:
  Optimizer(const std::vector<Tensor>& params, double lr);
  std::vector<ParamGroup> groups_;
};

}  // namespace ag::optim
