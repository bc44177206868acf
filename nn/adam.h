#pragma once
/// @file adam.h
/// optim::Adam and optim::AdamW with PyTorch's update equations:
///   g = grad (+ wd p for Adam); m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
///   p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)   (amsgrad: v replaced by its running max);
///   AdamW decays first: p *= 1 - lr wd.

#include <unordered_map>

#include "nn/optimizer.h"

namespace ag::optim {

struct AdamOptions {
  AdamOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: implicit, as libtorch's
  AdamOptions& lr(double v) {
    lr_ = v;
    return *this;
  }
  AdamOptions& betas(double b1, double b2) {
    b1_ = b1;
    b2_ = b2;
    return *this;
  }
  AdamOptions& eps(double v) {
    eps_ = v;
    return *this;
  }
  AdamOptions& weight_decay(double v) {
    wd_ = v;
    return *this;
  }
  AdamOptions& amsgrad(bool v) {
    amsgrad_ = v;
    return *this;
  }
  double lr() const { return lr_; }
  double beta1() const { return b1_; }
  double beta2() const { return b2_; }
  double eps() const { return eps_; }
  double weight_decay() const { return wd_; }
  bool amsgrad() const { return amsgrad_; }

 private:
  double lr_, b1_ = 0.9, b2_ = 0.999, eps_ = 1e-8, wd_ = 0;
  bool amsgrad_ = false;
};

/// AdamW's options: the same, with libtorch's default weight_decay of 1e-2. The setters are
/// declared again so that a chain keeps the type: `AdamWOptions(0.1).amsgrad(true)` is an AdamWOptions&.
struct AdamWOptions : AdamOptions {
  AdamWOptions(double lr = 1e-3) : AdamOptions(lr) { weight_decay(1e-2); }  // NOLINT: implicit
  using AdamOptions::amsgrad;
  using AdamOptions::eps;
  using AdamOptions::lr;  // the getters
  using AdamOptions::weight_decay;
  AdamWOptions& lr(double v) {
    AdamOptions::lr(v);
    return *this;
  }
  AdamWOptions& betas(double b1, double b2) {
    AdamOptions::betas(b1, b2);
    return *this;
  }
  AdamWOptions& eps(double v) {
    AdamOptions::eps(v);
    return *this;
  }
  AdamWOptions& weight_decay(double v) {
    AdamOptions::weight_decay(v);
    return *this;
  }
  AdamWOptions& amsgrad(bool v) {
    AdamOptions::amsgrad(v);
    return *this;
  }
};

class Adam : public Optimizer {
 public:
  Adam(const std::vector<Tensor>& params, const AdamOptions& options = {});
  void step() override;
  using Optimizer::step;  // step(closure)
  std::string name() const override { return decoupled_ ? "AdamW" : "Adam"; }
  const AdamOptions& options() const { return options_; }
  /// Mutable options (OneCycleLR cycles beta1 through it); read at every step.
  AdamOptions& options() { return options_; }

 protected:
  Adam(const std::vector<Tensor>& params, const AdamOptions& options, bool decoupled);
  void export_state(OptimizerState& s) const override;
  void import_state(const OptimizerState& s) override;

 private:
  struct State {
    std::int64_t step = 0;
    Tensor exp_avg, exp_avg_sq, max_exp_avg_sq;
  };
  AdamOptions options_;
  bool decoupled_;
  std::unordered_map<const TensorImpl*, State> state_;
};

/// Adam with decoupled weight decay (Loshchilov & Hutter).
class AdamW : public Adam {
 public:
  AdamW(const std::vector<Tensor>& params, const AdamWOptions& options = {}) : Adam(params, options, true) {}
};

}  // namespace ag::optim
