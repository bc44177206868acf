#pragma once
/// @file lr_scheduler.h
/// Learning-rate schedulers with PyTorch's values epoch by epoch: LRScheduler (the base),
/// StepLR, MultiStepLR, ExponentialLR and CosineAnnealingLR.
///
/// As in PyTorch (and unlike libtorch 1.13, whose schedule comes one step later), constructing a
/// scheduler is epoch 0: the learning rates stay as they are and get_last_lr() returns them; each
/// step() then moves to the next epoch and sets every group's learning rate. The updates are
/// PyTorch's recursive (chainable) forms, computed from each group's current learning rate.

#include <cstdint>
#include <vector>

#include "nn/optimizer.h"

namespace ag::optim {

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

 protected:
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

 protected:
  std::vector<double> get_lrs() override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

/// Multiplies the learning rates by gamma at each milestone epoch (by gamma^k for a milestone listed k times).
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, const std::vector<std::int64_t>& milestones, double gamma = 0.1);

 protected:
  std::vector<double> get_lrs() override;

 private:
  std::vector<std::int64_t> milestones_;
  double gamma_;
};

/// Multiplies the learning rates by gamma every epoch.
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);

 protected:
  std::vector<double> get_lrs() override;

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

 protected:
  std::vector<double> get_lrs() override;

 private:
  std::int64_t t_max_;
  double eta_min_;
};

}  // namespace ag::optim
