#pragma once
/// @file reduce_lr_on_plateau.h
/// optim::ReduceLROnPlateauScheduler (libtorch's name for PyTorch's ReduceLROnPlateau): multiplies
/// the learning rates by `factor` when a metric has not improved for `patience` epochs, with
/// PyTorch's values epoch by epoch. Improvement (mode min, threshold_mode rel): a < best (1 - threshold);
/// (min, abs): a < best - threshold; (max, rel): a > best (1 + threshold); (max, abs): a > best + threshold.
/// After a reduction, `cooldown` epochs pass with the bad-epoch count held at 0. A group's rate
/// never goes below its min_lr, and a change smaller than eps is not made.

#include <cstdint>
#include <string>
#include <vector>

#include "nn/lr_scheduler.h"
#include "nn/optimizer.h"

namespace ag::optim {

class ReduceLROnPlateauScheduler {
 public:
  enum SchedulerMode { min, max };
  enum ThresholdMode { rel, abs };
  /// libtorch's signature (with double factor); min_lr: empty (0 for every group), one value for
  /// every group, or one per group; verbose prints each reduction to stdout. The optimizer must
  /// outlive the scheduler.
  ReduceLROnPlateauScheduler(Optimizer& optimizer, SchedulerMode mode = min, double factor = 0.1,
                             std::int64_t patience = 10, double threshold = 1e-4, ThresholdMode threshold_mode = rel,
                             std::int64_t cooldown = 0, const std::vector<double>& min_lr = {}, double eps = 1e-8,
                             bool verbose = false);
  /// One epoch with this value of the metric; may reduce the learning rates.
  void step(double metric);
  /// The learning rate of each group after the last step (or the construction).
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  std::int64_t last_epoch() const { return last_epoch_; }
  /// The best metric so far, and the epochs since it (PyTorch's best / num_bad_epochs).
  double best() const { return best_; }
  std::int64_t num_bad_epochs() const { return num_bad_epochs_; }
  std::string name() const { return "ReduceLROnPlateauScheduler"; }
  /// best, num_bad_epochs, cooldown_counter, last_epoch, last_lr and the hyper-parameters (PyTorch's state_dict).
  SchedulerState state() const;
  /// Back to a saved state; another class, other hyper-parameters or groups is an ag::Error (nothing changed).
  void load_state(const SchedulerState& state);

 private:
  std::map<std::string, std::vector<double>> hyper_parameters() const;
  bool is_better(double a) const;
  Optimizer& optimizer_;
  SchedulerMode mode_;
  double factor_;
  std::int64_t patience_;
  double threshold_;
  ThresholdMode threshold_mode_;
  std::int64_t cooldown_;
  std::vector<double> min_lrs_;
  double eps_;
  bool verbose_;
  double best_;
  std::int64_t num_bad_epochs_ = 0, cooldown_counter_ = 0, last_epoch_ = 0;
  std::vector<double> last_lr_;
};

}  // namespace ag::optim
