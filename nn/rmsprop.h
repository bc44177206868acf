#pragma once
/// @file rmsprop.h
/// optim::RMSprop with PyTorch's update equations:
///   g = grad + wd p;  v = alpha v + (1 - alpha) g^2;
///   centered: a = alpha a + (1 - alpha) g, avg = sqrt(v - a^2) + eps; else avg = sqrt(v) + eps;
///   momentum > 0: b = momentum b + g / avg, p -= lr b;  else p -= lr g / avg.

#include <unordered_map>

#include "nn/optimizer.h"

namespace ag::optim {

/// RMSprop's hyper-parameters, libtorch's defaults (lr 0.01, alpha 0.99, eps 1e-8).
struct RMSpropOptions {
  RMSpropOptions(double lr = 1e-2) : lr_(lr) {}  // NOLINT: implicit, as libtorch's
  RMSpropOptions& lr(double v) {
    lr_ = v;
    return *this;
  }
  RMSpropOptions& alpha(double v) {
    alpha_ = v;
    return *this;
  }
  RMSpropOptions& eps(double v) {
    eps_ = v;
    return *this;
  }
  RMSpropOptions& weight_decay(double v) {
    weight_decay_ = v;
    return *this;
  }
  RMSpropOptions& momentum(double v) {
    momentum_ = v;
    return *this;
  }
  RMSpropOptions& centered(bool v) {
    centered_ = v;
    return *this;
  }
  double lr() const { return lr_; }
  double alpha() const { return alpha_; }
  double eps() const { return eps_; }
  double weight_decay() const { return weight_decay_; }
  double momentum() const { return momentum_; }
  bool centered() const { return centered_; }

 private:
  double lr_, alpha_ = 0.99, eps_ = 1e-8, weight_decay_ = 0, momentum_ = 0;
  bool centered_ = false;
};

class RMSprop : public Optimizer {
 public:
  RMSprop(const std::vector<Tensor>& params, const RMSpropOptions& options = {});
  void step() override;
  using Optimizer::step;  // step(closure)
  std::string name() const override { return "RMSprop"; }
  const RMSpropOptions& options() const { return options_; }
  /// Mutable options (OneCycleLR cycles the momentum through it); read at every step.
  RMSpropOptions& options() { return options_; }

 protected:
  void export_state(OptimizerState& s) const override;
  void import_state(const OptimizerState& s) override;

 private:
  struct State {
    std::int64_t step = 0;
    Tensor square_avg, momentum_buffer, grad_avg;
  };
  RMSpropOptions options_;
  std::unordered_map<const TensorImpl*, State> state_;
};

}  // namespace ag::optim
