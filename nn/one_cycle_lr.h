#pragma once
/// @file one_cycle_lr.h
/// optim::OneCycleLR: the 1cycle policy (Smith & Topin) with PyTorch's values step by step: the
/// learning rate goes from max_lr / div_factor up to max_lr over pct_start of total_steps, then
/// down to initial_lr / final_div_factor (three_phase: back to initial_lr first, symmetric, then
/// down), by cosine or linear annealing; with cycle_momentum the momentum (SGD's and RMSprop's
/// momentum, Adam's and AdamW's beta1) moves the other way between max_momentum and base_momentum.
/// Call step() after each batch; stepping past total_steps is an ag::Error.

#include <string>
#include <vector>

#include "nn/lr_scheduler.h"

namespace ag::optim {

/// OneCycleLR's settings, PyTorch's defaults: pct_start 0.3, anneal_strategy "cos", cycle_momentum
/// true, base_momentum 0.85, max_momentum 0.95, div_factor 25, final_div_factor 1e4, three_phase false.
struct OneCycleLROptions {
  /// One max_lr for every group, or one per group.
  OneCycleLROptions(double max_lr, std::int64_t total_steps) : max_lrs_{max_lr}, total_steps_(total_steps) {}
  OneCycleLROptions(std::vector<double> max_lrs, std::int64_t total_steps)
      : max_lrs_(std::move(max_lrs)), total_steps_(total_steps) {}
  OneCycleLROptions& pct_start(double v) {
    pct_start_ = v;
    return *this;
  }
  /// "cos" or "linear".
  OneCycleLROptions& anneal_strategy(std::string v) {
    anneal_strategy_ = std::move(v);
    return *this;
  }
  OneCycleLROptions& cycle_momentum(bool v) {
    cycle_momentum_ = v;
    return *this;
  }
  OneCycleLROptions& base_momentum(double v) {
    base_momentum_ = v;
    return *this;
  }
  OneCycleLROptions& max_momentum(double v) {
    max_momentum_ = v;
    return *this;
  }
  OneCycleLROptions& div_factor(double v) {
    div_factor_ = v;
    return *this;
  }
  OneCycleLROptions& final_div_factor(double v) {
    final_div_factor_ = v;
    return *this;
  }
  OneCycleLROptions& three_phase(bool v) {
    three_phase_ = v;
    return *this;
  }
  const std::vector<double>& max_lrs() const { return max_lrs_; }
  std::int64_t total_steps() const { return total_steps_; }
  double pct_start() const { return pct_start_; }
  const std::string& anneal_strategy() const { return anneal_strategy_; }
  bool cycle_momentum() const { return cycle_momentum_; }
  double base_momentum() const { return base_momentum_; }
  double max_momentum() const { return max_momentum_; }
  double div_factor() const { return div_factor_; }
  double final_div_factor() const { return final_div_factor_; }
  bool three_phase() const { return three_phase_; }

 private:
  std::vector<double> max_lrs_;
  std::int64_t total_steps_;
  double pct_start_ = 0.3;
  std::string anneal_strategy_ = "cos";
  bool cycle_momentum_ = true;
  double base_momentum_ = 0.85, max_momentum_ = 0.95, div_factor_ = 25.0, final_div_factor_ = 1e4;
  bool three_phase_ = false;
};

class OneCycleLR : public LRScheduler {
 public:
  /// Sets every group's learning rate to max_lr / div_factor and (cycle_momentum) its momentum to
  /// max_momentum. cycle_momentum needs an SGD, RMSprop, Adam or AdamW optimizer.
  OneCycleLR(Optimizer& optimizer, const OneCycleLROptions& options);
  /// The momentum (or beta1) set at the last step.
  double get_last_momentum() const { return last_momentum_; }
  std::string name() const override { return "OneCycleLR"; }
  /// The base class's state and last_momentum.
  SchedulerState state() const override;
  void load_state(const SchedulerState& state) override;

 protected:
  std::vector<double> get_lrs() override;
  std::map<std::string, std::vector<double>> hyper_parameters() const override;

 private:
  struct Phase {
    double end_step;
    int start_lr, end_lr;  // 0 initial, 1 max, 2 min
    bool momentum_down, momentum_flat;
  };
  void set_momentum(double m);
  double anneal(double start, double end, double pct) const;
  OneCycleLROptions options_;
  std::vector<Phase> phases_;
  std::vector<double> initial_lrs_, max_lrs_, min_lrs_;
  double last_momentum_ = 0;
};

}  // namespace ag::optim
