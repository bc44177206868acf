#pragma once
/// @file sgd.h
/// optim::SGD with PyTorch's update: g = grad + wd p; b = mu b + (1 - dampening) g (b = g at the
/// first step); g = nesterov ? g + mu b : b; p -= lr g. With no options it is the seed's
/// `param -= lr * grad`.

#include <unordered_map>

#include "nn/optimizer.h"

namespace ag::optim {

struct SGDOptions {
  SGDOptions(double lr) : lr_(lr) {}  // NOLINT: implicit, as libtorch's
  SGDOptions& lr(double v) {
    lr_ = v;
    return *this;
  }
  SGDOptions& momentum(double v) {
    momentum_ = v;
    return *this;
  }
  SGDOptions& dampening(double v) {
    dampening_ = v;
    return *this;
  }
  SGDOptions& weight_decay(double v) {
    weight_decay_ = v;
    return *this;
  }
  SGDOptions& nesterov(bool v) {
    nesterov_ = v;
    return *this;
  }
  double lr() const { return lr_; }
  double momentum() const { return momentum_; }
  double dampening() const { return dampening_; }
  double weight_decay() const { return weight_decay_; }
  bool nesterov() const { return nesterov_; }

 private:
  double lr_, momentum_ = 0, dampening_ = 0, weight_decay_ = 0;
  bool nesterov_ = false;
};

class SGD : public Optimizer {
 public:
  SGD(const std::vector<Tensor>& params, const SGDOptions& options);
  void step() override;
  using Optimizer::step;  // step(closure)
  std::string name() const override { return "SGD"; }
  const SGDOptions& options() const { return options_; }
  /// Mutable options (OneCycleLR cycles the momentum through it); read at every step.
  SGDOptions& options() { return options_; }

 protected:
  void export_state(OptimizerState& s) const override;
  void import_state(const OptimizerState& s) override;

 private:
  SGDOptions options_;
  std::unordered_map<const TensorImpl*, Tensor> momentum_buffers_;
};

}  // namespace ag::optim
