#include "nn/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <fmt/format.h>
#include <fmt/ranges.h>

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

SchedulerState LRScheduler::state() const {
  SchedulerState s{name(), hyper_parameters()};
  s.values["last_epoch"] = {static_cast<double>(last_epoch_)};
  s.values["step_count"] = {static_cast<double>(step_count_)};
  s.values["base_lrs"] = base_lrs_;
  s.values["last_lr"] = last_lr_;
  return s;
}

void SchedulerState::check(const std::string& who,
                           const std::map<std::string, std::vector<double>>& hyper_parameters) const {
  if (scheduler != who) fail("{}::load_state: the state is a {}'s, not a {}'s", who, scheduler, who);
  for (const auto& [key, mine] : hyper_parameters)
    if (get(who, key) != mine)
      fail("{}::load_state: the state was saved with {} = [{}], this scheduler has [{}]", who, key,
           fmt::join(get(who, key), ", "), fmt::join(mine, ", "));
}

const std::vector<double>& SchedulerState::get(const std::string& who, const std::string& key) const {
  const auto it = values.find(key);
  if (it == values.end()) fail("{}::load_state: the state has no '{}'", who, key);
  return it->second;
}

std::int64_t SchedulerState::counter(const std::string& who, const std::string& key) const {
  const auto& v = get(who, key);
  if (v.size() != 1 || v[0] != std::floor(v[0]) || std::abs(v[0]) > 9e15)
    fail("{}::load_state: '{}' must be one integer", who, key);
  return static_cast<std::int64_t>(v[0]);
}

void LRScheduler::load_state(const SchedulerState& s) {
  const std::string who = name();
  s.check(who, hyper_parameters());
  const std::size_t groups = base_lrs_.size();
  const auto& base = s.get(who, "base_lrs");
  const auto& last = s.get(who, "last_lr");
  if (base.size() != groups || last.size() != groups)
    fail("{}::load_state: the state has learning rates for {} parameter groups, this scheduler {}", who, base.size(),
         groups);
  const std::int64_t epoch = s.counter(who, "last_epoch"), steps = s.counter(who, "step_count");
  last_epoch_ = epoch;
  step_count_ = steps;
  base_lrs_ = base;
  last_lr_ = last;
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

std::map<std::string, std::vector<double>> StepLR::hyper_parameters() const {
  return {{"step_size", {static_cast<double>(step_size_)}}, {"gamma", {gamma_}}};
}

std::map<std::string, std::vector<double>> MultiStepLR::hyper_parameters() const {
  std::vector<double> m(milestones_.begin(), milestones_.end());
  return {{"milestones", m}, {"gamma", {gamma_}}};
}

std::map<std::string, std::vector<double>> ExponentialLR::hyper_parameters() const { return {{"gamma", {gamma_}}}; }

std::map<std::string, std::vector<double>> CosineAnnealingLR::hyper_parameters() const {
  return {{"T_max", {static_cast<double>(t_max_)}}, {"eta_min", {eta_min_}}};
}

}  // namespace ag::optim
