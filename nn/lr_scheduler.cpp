#include "nn/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace ag::optim {

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer), base_lrs_(get_current_lrs()) {}

std::vector<double> LRScheduler::get_current_lrs() const {
  std::vector<double> out;
  for (const auto& g : optimizer_.param_groups()) out.push_back(g.lr);
  return out;
}

void LRScheduler::step() {
  auto& groups = optimizer_.param_groups();
  if (base_lrs_.size() != groups.size())
    fail("LRScheduler: the optimizer has {} parameter groups but the scheduler was made for {}", groups.size(),
         base_lrs_.size());
  ++step_count_;
  ++last_epoch_;
  std::vector<double> lrs;
  try {
    lrs = get_lrs();
  } catch (...) {  // e.g. OneCycleLR past total_steps: the scheduler stays where it was
    --step_count_;
    --last_epoch_;
    throw;
  }
  for (std::size_t i = 0; i < groups.size(); ++i) groups[i].lr = lrs[i];
  last_lr_ = lrs;
}

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  if (step_size < 1) fail("StepLR: step_size must be >= 1, got {}", step_size);
  initial_step();
}

std::vector<double> StepLR::get_lrs() {
  std::vector<double> lrs = get_current_lrs();
  if (last_epoch_ == 0 || last_epoch_ % step_size_ != 0) return lrs;
  for (double& lr : lrs) lr *= gamma_;
  return lrs;
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, const std::vector<std::int64_t>& milestones, double gamma)
    : LRScheduler(optimizer), milestones_(milestones), gamma_(gamma) {
  initial_step();
}

std::vector<double> MultiStepLR::get_lrs() {
  std::vector<double> lrs = get_current_lrs();
  const auto k = std::count(milestones_.begin(), milestones_.end(), last_epoch_);
  if (k == 0) return lrs;
  for (double& lr : lrs) lr *= std::pow(gamma_, static_cast<double>(k));
  return lrs;
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler(optimizer), gamma_(gamma) {
  initial_step();
}

std::vector<double> ExponentialLR::get_lrs() {
  std::vector<double> lrs = get_current_lrs();
  if (last_epoch_ == 0) return lrs;
  for (double& lr : lrs) lr *= gamma_;
  return lrs;
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min)  // NOLINT
    : LRScheduler(optimizer), t_max_(T_max), eta_min_(eta_min) {
  if (T_max < 1) fail("CosineAnnealingLR: T_max must be >= 1, got {}", T_max);
  initial_step();
}

std::vector<double> CosineAnnealingLR::get_lrs() {
  constexpr double pi = std::numbers::pi;
  std::vector<double> lrs = get_current_lrs();
  if (last_epoch_ == 0) return lrs;
  const double T = static_cast<double>(t_max_), e = static_cast<double>(last_epoch_);
  const std::int64_t period = 2 * t_max_;
  if ((((last_epoch_ - 1 - t_max_) % period) + period) % period == 0) {  // Python's modulo
    for (std::size_t i = 0; i < lrs.size(); ++i)
      lrs[i] = lrs[i] + (base_lrs_[i] - eta_min_) * (1 - std::cos(pi / T)) / 2;
    return lrs;
  }
  for (double& lr : lrs)
    lr = (1 + std::cos(pi * e / T)) / (1 + std::cos(pi * (e - 1) / T)) * (lr - eta_min_) + eta_min_;
  return lrs;
}

}  // namespace ag::optim
