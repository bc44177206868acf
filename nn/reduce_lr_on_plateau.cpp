#include "nn/reduce_lr_on_plateau.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace ag::optim {

ReduceLROnPlateauScheduler::ReduceLROnPlateauScheduler(Optimizer& optimizer, SchedulerMode mode, double factor,
                                                       std::int64_t patience, double threshold,
                                                       ThresholdMode threshold_mode, std::int64_t cooldown,
                                                       const std::vector<double>& min_lr, double eps, bool verbose)
    : optimizer_(optimizer),
      mode_(mode),
      factor_(factor),
      patience_(patience),
      threshold_(threshold),
      threshold_mode_(threshold_mode),
      cooldown_(cooldown),
      eps_(eps),
      verbose_(verbose) {
  const std::size_t groups = optimizer.param_groups().size();
  if (!(factor < 1.0)) fail("ReduceLROnPlateauScheduler: factor must be < 1.0, got {}", factor);
  if (patience < 0 || cooldown < 0)
    fail("ReduceLROnPlateauScheduler: patience {} and cooldown {} must be >= 0", patience, cooldown);
  if (mode != min && mode != max) fail("ReduceLROnPlateauScheduler: unknown mode {}", static_cast<int>(mode));
  if (threshold_mode != rel && threshold_mode != abs)
    fail("ReduceLROnPlateauScheduler: unknown threshold mode {}", static_cast<int>(threshold_mode));
  if (min_lr.empty()) min_lrs_.assign(groups, 0.0);
  else if (min_lr.size() == 1) min_lrs_.assign(groups, min_lr[0]);
  else if (min_lr.size() == groups) min_lrs_ = min_lr;
  else fail("ReduceLROnPlateauScheduler: expected {} values for min_lr, got {}", groups, min_lr.size());
  best_ = mode == min ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  for (const auto& g : optimizer.param_groups()) last_lr_.push_back(g.lr);
}

bool ReduceLROnPlateauScheduler::is_better(double a) const {
  if (mode_ == min && threshold_mode_ == rel) return a < best_ * (1.0 - threshold_);
  if (mode_ == min) return a < best_ - threshold_;
  if (threshold_mode_ == rel) return a > best_ * (threshold_ + 1.0);
  return a > best_ + threshold_;
}

void ReduceLROnPlateauScheduler::step(double metric) {
  auto& groups = optimizer_.param_groups();
  if (groups.size() != min_lrs_.size())
    fail("ReduceLROnPlateauScheduler: the optimizer has {} parameter groups but the scheduler was made for {}",
         groups.size(), min_lrs_.size());
  ++last_epoch_;
  if (is_better(metric)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;
  }
  if (num_bad_epochs_ > patience_) {
    for (std::size_t i = 0; i < groups.size(); ++i) {
      const double old_lr = groups[i].lr;
      const double new_lr = std::max(old_lr * factor_, min_lrs_[i]);
      if (old_lr - new_lr > eps_) {
        groups[i].lr = new_lr;
        if (verbose_)
          std::printf("Epoch %lld: reducing learning rate of group %zu to %.4e.\n", static_cast<long long>(last_epoch_),
                      i, new_lr);
      }
    }
    cooldown_counter_ = cooldown_;
    num_bad_epochs_ = 0;
  }
  last_lr_.clear();
  for (const auto& g : groups) last_lr_.push_back(g.lr);
}

std::map<std::string, std::vector<double>> ReduceLROnPlateauScheduler::hyper_parameters() const {
  return {{"mode", {mode_ == min ? 0.0 : 1.0}},
          {"factor", {factor_}},
          {"patience", {static_cast<double>(patience_)}},
          {"threshold", {threshold_}},
          {"threshold_mode", {threshold_mode_ == rel ? 0.0 : 1.0}},
          {"cooldown", {static_cast<double>(cooldown_)}},
          {"min_lrs", min_lrs_},
          {"eps", {eps_}}};
}

SchedulerState ReduceLROnPlateauScheduler::state() const {
  SchedulerState s{name(), hyper_parameters()};
  s.values["best"] = {best_};
  s.values["num_bad_epochs"] = {static_cast<double>(num_bad_epochs_)};
  s.values["cooldown_counter"] = {static_cast<double>(cooldown_counter_)};
  s.values["last_epoch"] = {static_cast<double>(last_epoch_)};
  s.values["last_lr"] = last_lr_;
  return s;
}

void ReduceLROnPlateauScheduler::load_state(const SchedulerState& s) {
  const std::string who = name();
  s.check(who, hyper_parameters());
  const auto& best_v = s.get(who, "best");
  if (best_v.size() != 1) fail("{}::load_state: 'best' must be one number", who);
  const double best = best_v[0];
  const std::int64_t bad = s.counter(who, "num_bad_epochs"), cool = s.counter(who, "cooldown_counter"),
                     epoch = s.counter(who, "last_epoch");
  const auto& last = s.get(who, "last_lr");
  if (last.size() != min_lrs_.size())
    fail("{}::load_state: the state has learning rates for {} parameter groups, this scheduler {}", who, last.size(),
         min_lrs_.size());
  best_ = best;
  num_bad_epochs_ = bad;
  cooldown_counter_ = cool;
  last_epoch_ = epoch;
  last_lr_ = last;
}

}  // namespace ag::optim
