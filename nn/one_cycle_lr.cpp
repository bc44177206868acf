#include "nn/one_cycle_lr.h"

#include <cmath>
#include <numbers>

#include "nn/adam.h"
#include "nn/rmsprop.h"
#include "nn/sgd.h"

namespace ag::optim {

OneCycleLR::OneCycleLR(Optimizer& optimizer, const OneCycleLROptions& o) : LRScheduler(optimizer), options_(o) {
  const std::size_t groups = optimizer.param_groups().size();
  if (o.total_steps() < 1) fail("OneCycleLR: total_steps must be a positive integer, got {}", o.total_steps());
  if (!(o.pct_start() >= 0 && o.pct_start() <= 1))
    fail("OneCycleLR: pct_start must be between 0 and 1, got {}", o.pct_start());
  if (o.anneal_strategy() != "cos" && o.anneal_strategy() != "linear")
    fail("OneCycleLR: anneal_strategy must be \"cos\" or \"linear\", got \"{}\"", o.anneal_strategy());
  if (o.max_lrs().size() != 1 && o.max_lrs().size() != groups)
    fail("OneCycleLR: expected 1 or {} values for max_lr, got {}", groups, o.max_lrs().size());
  const bool has_momentum =
      dynamic_cast<SGD*>(&optimizer) || dynamic_cast<RMSprop*>(&optimizer) || dynamic_cast<Adam*>(&optimizer);
  if (o.cycle_momentum() && !has_momentum)
    fail(
        "OneCycleLR: cycle_momentum needs an optimizer with a momentum (SGD, RMSprop) or betas (Adam, AdamW), "
        "got {}",
        optimizer.name());
  const double total = static_cast<double>(o.total_steps());
  if (o.three_phase())
    phases_ = {{o.pct_start() * total - 1, 0, 1, true, false},
               {2 * o.pct_start() * total - 2, 1, 0, false, false},
               {total - 1, 0, 2, false, true}};
  else phases_ = {{o.pct_start() * total - 1, 0, 1, true, false}, {total - 1, 1, 2, false, false}};
  for (std::size_t i = 0; i < groups; ++i) {
    const double max_lr = o.max_lrs().size() == 1 ? o.max_lrs()[0] : o.max_lrs()[i];
    initial_lrs_.push_back(max_lr / o.div_factor());
    max_lrs_.push_back(max_lr);
    min_lrs_.push_back(initial_lrs_.back() / o.final_div_factor());
  }
  base_lrs_ = initial_lrs_;
  if (o.cycle_momentum()) set_momentum(o.max_momentum());
  initial_step();
}

void OneCycleLR::set_momentum(double m) {
  last_momentum_ = m;
  if (auto* sgd = dynamic_cast<SGD*>(&optimizer_)) sgd->options().momentum(m);
  else if (auto* rms = dynamic_cast<RMSprop*>(&optimizer_)) rms->options().momentum(m);
  else if (auto* adam = dynamic_cast<Adam*>(&optimizer_)) adam->options().betas(m, adam->options().beta2());
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (options_.anneal_strategy() == "cos") {
    const double cos_out = std::cos(std::numbers::pi * pct) + 1;
    return end + (start - end) / 2.0 * cos_out;
  }
  return (end - start) * pct + start;
}

std::vector<double> OneCycleLR::get_lrs() {
  const std::int64_t step_num = last_epoch_;
  if (step_num > options_.total_steps())
    fail("OneCycleLR: tried to step {} times; the specified number of total steps is {}", step_num + 1,
         options_.total_steps());
  const double b = options_.base_momentum(), m = options_.max_momentum();
  std::vector<double> lrs;
  double momentum = 0;
  for (std::size_t g = 0; g < initial_lrs_.size(); ++g) {
    const double by_index[3] = {initial_lrs_[g], max_lrs_[g], min_lrs_[g]};
    double start_step = 0, lr = 0;
    for (std::size_t i = 0; i < phases_.size(); ++i) {
      const Phase& ph = phases_[i];
      if (static_cast<double>(step_num) <= ph.end_step || i + 1 == phases_.size()) {
        const double pct = (static_cast<double>(step_num) - start_step) / (ph.end_step - start_step);
        lr = anneal(by_index[ph.start_lr], by_index[ph.end_lr], pct);
        momentum = ph.momentum_flat ? anneal(m, m, pct) : ph.momentum_down ? anneal(m, b, pct) : anneal(b, m, pct);
        break;
      }
      start_step = ph.end_step;
    }
    lrs.push_back(lr);
  }
  if (options_.cycle_momentum()) set_momentum(momentum);
  return lrs;
}

std::map<std::string, std::vector<double>> OneCycleLR::hyper_parameters() const {
  const auto& o = options_;
  return {{"max_lrs", max_lrs_},
          {"total_steps", {static_cast<double>(o.total_steps())}},
          {"pct_start", {o.pct_start()}},
          {"anneal_cos", {o.anneal_strategy() == "cos" ? 1.0 : 0.0}},
          {"cycle_momentum", {o.cycle_momentum() ? 1.0 : 0.0}},
          {"base_momentum", {o.base_momentum()}},
          {"max_momentum", {o.max_momentum()}},
          {"div_factor", {o.div_factor()}},
          {"final_div_factor", {o.final_div_factor()}},
          {"three_phase", {o.three_phase() ? 1.0 : 0.0}}};
}

SchedulerState OneCycleLR::state() const {
  SchedulerState s = LRScheduler::state();
  s.values["last_momentum"] = {last_momentum_};
  return s;
}

void OneCycleLR::load_state(const SchedulerState& s) {
  const auto it = s.values.find("last_momentum");
  if (s.scheduler == name() && (it == s.values.end() || it->second.size() != 1))
    fail("OneCycleLR::load_state: the state has no 'last_momentum'");
  LRScheduler::load_state(s);  // checks everything else before changing anything
  last_momentum_ = it->second[0];
}

}  // namespace ag::optim
