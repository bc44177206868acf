#pragma once
/// @file adagrad.h
/// optim::Adagrad with PyTorch's update equations: at step t (from 1),
///   g = grad + wd p;  clr = lr / (1 + (t - 1) lr_decay);  s += g^2;  p -= clr g / (sqrt(s) + eps),
/// the sum s starting at initial_accumulator_value.

#include <unordered_map>

#include "nn/optimizer.h"

namespace ag::optim {

/// Adagrad's hyper-parameters, libtorch's defaults (lr 0.01, eps 1e-10).
struct AdagradOptions {
  AdagradOptions(double lr = 1e-2) : lr_(lr) {}  // NOLINT: implicit, as libtorch's
  AdagradOptions& lr(double v) {
    lr_ = v;
    return *this;
  }
  AdagradOptions& lr_decay(double v) {
    lr_decay_ = v;
    return *this;
  }
  AdagradOptions& weight_decay(double v) {
    weight_decay_ = v;
    return *this;
  }
  AdagradOptions& initial_accumulator_value(double v) {
    initial_accumulator_value_ = v;
    return *this;
  }
  AdagradOptions& eps(double v) {
    eps_ = v;
    return *this;
  }
  double lr() const { return lr_; }
  double lr_decay() const { return lr_decay_; }
  double weight_decay() const { return weight_decay_; }
  double initial_accumulator_value() const { return initial_accumulator_value_; }
  double eps() const { return eps_; }

 private:
  double lr_, lr_decay_ = 0, weight_decay_ = 0, initial_accumulator_value_ = 0, eps_ = 1e-10;
};

class Adagrad : public Optimizer {
 public:
  Adagrad(const std::vector<Tensor>& params, const AdagradOptions& options = {});
  void step() override;
  using Optimizer::step;  // step(closure)
  std::string name() const override { return "Adagrad"; }
  const AdagradOptions& options() const { return options_; }

 protected:
  void export_state(OptimizerState& s) const override;
  void import_state(const OptimizerState& s) override;

 private:
  struct State {
    std::int64_t step = 0;
    Tensor sum;
  };
  AdagradOptions options_;
  std::unordered_map<const TensorImpl*, State> state_;
};

}  // namespace ag::optim
