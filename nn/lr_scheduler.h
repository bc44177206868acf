#pragma once
/// @file lr_scheduler.h
/// Learning-rate schedulers with PyTorch's values epoch by epoch: LRScheduler (the base),
/// StepLR, MultiStepLR, ExponentialLR and CosineAnnealingLR.
///
/// As in PyTorch (and unlike libtorch 1.13, whose schedule comes one step later), constructing a
/// scheduler is epoch 0: the learning rates stay as they are and get_last_lr() returns them; each
/// step() then moves to the next epoch and sets every group's learning rate. The updates are
/// PyTorch's recursive (chainable) forms, computed from each group's current learning rate.
///
/// state() / load_state() (PyTorch's state_dict / load_state_dict) give and restore where a
/// scheduler is; optim::save / optim::load (nn/state_serialize.h) write and read them as files.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nn/optimizer.h"

namespace ag::optim {

/// A scheduler's state, as PyTorch's state_dict (all but the optimizer): its class and named
/// numbers (a scalar is a list of one): the counters (last_epoch, step_count...), the learning
/// rates (base_lrs, last_lr) and the hyper-parameters (gamma, step_size...).
struct SchedulerState {
  std::string scheduler;                              ///< "StepLR", "OneCycleLR", ...
  std::map<std::string, std::vector<double>> values;  ///< by name

  // For load_state (errors name `who`, the loading scheduler's class):
  /// Throws ag::Error unless the state is a `who`'s saved with these hyper-parameters.
  void check(const std::string& who, const std::map<std::string, std::vector<double>>& hyper_parameters) const;
  /// The numbers under `key`; throws ag::Error when there are none.
  const std::vector<double>& get(const std::string& who, const std::string& key) const;
  /// The one integer under `key`; throws ag::Error otherwise.
  std::int64_t counter(const std::string& who, const std::string& key) const;
};

/// Base of the epoch schedulers: step() advances last_epoch and writes get_lrs() into the groups.
/// The optimizer must outlive the scheduler.
class LRScheduler {
 public:
  explicit LRScheduler(Optimizer& optimizer);
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;
  /// Moves to the next epoch and sets each group's learning rate.
  void step();
  /// The learning rate of each group after the last step (or the construction).
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  /// The current epoch: 0 after construction, +1 per step().
  std::int64_t last_epoch() const { return last_epoch_; }
  /// The groups' learning rates when the scheduler was made.
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  /// The class's name: "StepLR", "MultiStepLR", ... ("LRScheduler" for a class that does not say).
  virtual std::string name() const { return "LRScheduler"; }
  /// last_epoch, step_count, base_lrs, last_lr and the hyper-parameters.
  virtual SchedulerState state() const;
  /// Back to a saved state (the optimizer's learning rates are the optimizer's: optim::load restores
  /// them). Another class, another number of groups, other hyper-parameters or a missing value is an
  /// ag::Error and changes nothing.
  virtual void load_state(const SchedulerState& state);

 protected:
  /// The hyper-parameters, saved by state() and required equal by load_state() (none here).
  virtual std::map<std::string, std::vector<double>> hyper_parameters() const { return {}; }
  /// The learning rates of the epoch last_epoch() (already advanced when called).
  virtual std::vector<double> get_lrs() = 0;
  /// The groups' learning rates now.
  std::vector<double> get_current_lrs() const;
  /// Epoch 0: called at the end of each derived constructor (PyTorch's _initial_step).
  void initial_step() { step(); }
  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  std::int64_t last_epoch_ = -1;
  std::int64_t step_count_ = 0;

 private:
  std::vector<double> last_lr_;
};

/// Multiplies the learning rates by gamma every step_size epochs.
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);
  std::string name() const override { return "StepLR"; }

 protected:
  std::vector<double> get_lrs() override;
  std::map<std::string, std::vector<double>> hyper_parameters() const override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

/// Multiplies the learning rates by gamma at each milestone epoch (by gamma^k for a milestone listed k times).
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, const std::vector<std::int64_t>& milestones, double gamma = 0.1);
  std::string name() const override { return "MultiStepLR"; }

 protected:
  std::vector<double> get_lrs() override;
  std::map<std::string, std::vector<double>> hyper_parameters() const override;

 private:
  std::vector<std::int64_t> milestones_;
  double gamma_;
};

/// Multiplies the learning rates by gamma every epoch.
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);
  std::string name() const override { return "ExponentialLR"; }

 protected:
  std::vector<double> get_lrs() override;
  std::map<std::string, std::vector<double>> hyper_parameters() const override;

 private:
  double gamma_;
};

/// Cosine annealing from the base learning rate to eta_min over T_max epochs, then back up (SGDR
/// without restarts), in PyTorch's recursive form:
///   lr_e = (1 + cos(pi e / T)) / (1 + cos(pi (e - 1) / T)) (lr_{e-1} - eta_min) + eta_min,
/// and lr_{e-1} + (base - eta_min)(1 - cos(pi / T)) / 2 when (e - 1 - T) % 2T == 0.
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min = 0.0);  // NOLINT: PyTorch's name
  std::string name() const override { return "CosineAnnealingLR"; }

 protected:
  std::vector<double> get_lrs() override;
  std::map<std::string, std::vector<double>> hyper_parameters() const override;

 private:
  std::int64_t t_max_;
  double eta_min_;
};

}  // namespace ag::optim
