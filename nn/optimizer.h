#pragma once
/// @file optimizer.h
/// ag::optim::Optimizer: parameter groups, zero_grad(), step(), a learning rate per group, and the
/// state that ag::optim::save / load (nn/optim_serialize.h) move to and from a file.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <autograd/autograd.h>

namespace ag::optim {

/// A set of parameters sharing hyper-parameters; `lr` can be changed between steps.
struct ParamGroup {
  std::vector<Tensor> params;
  double lr = 0.0;
};

/// A closure that re-evaluates the model: clears the gradients, computes the loss, calls backward
/// and returns the loss (libtorch's LossClosure; LBFGS::step needs one).
using LossClosure = std::function<Tensor()>;

/// One parameter's optimizer state: named tensors (momentum buffers, moments...) and numbers (step).
struct ParamState {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, double> scalars;
};

/// Everything an optimizer carries between steps, in a form save/load can write: the hyper-parameters
/// (shared by every group; booleans as 0/1), each group's learning rate, and the state of each
/// parameter that has some, by the parameter's index over all groups in order (PyTorch's numbering).
struct OptimizerState {
  std::map<std::string, double> options;
  std::vector<double> lrs;
  std::map<std::int64_t, ParamState> params;
};

/// Base of the optimizers. Updates run under NoGradGuard and skip parameters without a gradient
/// (so a frozen parameter, one that does not require grad, may be passed and is never changed).
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  /// Applies one update to every parameter that has a gradient.
  virtual void step() = 0;
  /// libtorch's step(closure): runs the closure (which clears the gradients, computes the loss and
  /// calls backward) with grad mode on, then step(); returns the closure's loss (an undefined tensor
  /// for a null closure, after a plain step()). LBFGS re-evaluates the closure as often as it needs.
  virtual Tensor step(const LossClosure& closure);
  /// Clears every gradient (set_to_none, libtorch's default) or zeroes it.
  void zero_grad(bool set_to_none = true);
  /// Adds parameters with their own learning rate. A parameter already in a group (or listed twice)
  /// is an ag::Error, as is a non-leaf.
  void add_param_group(const std::vector<Tensor>& params, double lr);
  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  /// Learning rate of group 0; set_lr changes it for every group.
  double lr() const;
  void set_lr(double lr);

  /// The optimizer's name as in PyTorch ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LBFGS").
  virtual std::string name() const = 0;
  /// A copy of the hyper-parameters, group learning rates and per-parameter state (tensors cloned).
  OptimizerState state() const;
  /// Replaces hyper-parameters, learning rates and state by `s`. Every name, shape and dtype is
  /// checked first: on a mismatch it throws ag::Error and the optimizer is left exactly as it was.
  void load_state(const OptimizerState& s);
  /// Every parameter over all groups, in order (the indices of OptimizerState::params).
  std::vector<Tensor> all_params() const;

 protected:
  Optimizer(const std::vector<Tensor>& params, double lr);
  /// The derived optimizer's part of state(): options and per-parameter state.
  virtual void export_state(OptimizerState& s) const = 0;
  /// The derived part of load_state(): checks everything in `s`, throws ag::Error before changing
  /// anything, then commits (the commit does not throw).
  virtual void import_state(const OptimizerState& s) = 0;
  /// Helpers for import_state: a required option, and a clone of the state tensor `key` of parameter
  /// `index`, which must have the shape and dtype of `like` (or of `shape` and float64).
  double required_option(const OptimizerState& s, const std::string& key) const;
  Tensor state_tensor(const ParamState& ps, std::int64_t index, const std::string& key, const Tensor& like) const;
  Tensor state_tensor(const ParamState& ps, std::int64_t index, const std::string& key, const Shape& shape,
                      Dtype dtype) const;
  double state_scalar(const ParamState& ps, std::int64_t index, const std::string& key) const;
  std::vector<ParamGroup> groups_;
};

}  // namespace ag::optim
