// The pieces of ag_compare shared by the driver (compare.cpp) and its child modes (compare_child.cpp).
#include <algorithm>
#include <cmath>
#include <sstream>

#include "bench/compare.h"

namespace agbench {

void OursRunner::forward_nograd() { ag::Tensor l = w_.forward_nograd(); }
void OursRunner::forward() { loss_ = w_.forward(); }
void OursRunner::backward() {
  loss_.backward();
  loss_ = ag::Tensor();
}
void OursRunner::zero_grad() { w_.zero_grad(); }
double OursRunner::step() { return w_.step(); }
double OursRunner::tape_bytes() {
  const TapeMemory m = measure_tape_memory(w_);
  zero_grad();
  nodes = m.nodes;
  return m.total();
}
double OursRunner::loss() { return loss_.item<double>(); }
std::vector<std::vector<double>> OursRunner::gradients() {
  std::vector<std::vector<double>> out;
  for (const ag::Tensor& p : w_.parameters()) {
    const ag::Tensor g = p.grad().to(ag::kFloat64);
    out.emplace_back(g.data<double>(), g.data<double>() + g.numel());
  }
  return out;
}

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void time_round(Runner& r, double budget, Samples& s) {
  r.step();  // untimed
  auto start = Clock::now();
  for (int n = 0; n < kMinTimedSteps || (since(start) < budget && n < 5000); ++n) {
    const auto t0 = Clock::now();
    r.step();
    s.step.push_back(since(t0));
  }
  start = Clock::now();
  for (int n = 0; n < kMinTimedSteps || (since(start) < budget && n < 5000); ++n) {
    const auto t0 = Clock::now();
    r.forward_nograd();
    const auto t1 = Clock::now();
    r.forward();
    const auto t2 = Clock::now();
    r.backward();
    const auto t3 = Clock::now();
    r.zero_grad();
    s.nograd.push_back(std::chrono::duration<double>(t1 - t0).count());
    s.fwd.push_back(std::chrono::duration<double>(t2 - t1).count());
    s.bwd.push_back(std::chrono::duration<double>(t3 - t2).count());
  }
}

Check check(Runner& ours, Runner& torch) {
  Check c;
  std::vector<std::vector<double>> g[2];
  Runner* r[2] = {&ours, &torch};
  for (int e = 0; e < 2; ++e) {
    r[e]->zero_grad();
    r[e]->forward();
    (e == 0 ? c.loss_ours : c.loss_torch) = r[e]->loss();
    r[e]->backward();
    g[e] = r[e]->gradients();
    r[e]->zero_grad();
  }
  c.loss_rel = std::abs(c.loss_ours - c.loss_torch) / std::max(std::abs(c.loss_torch), 1e-30);
  for (std::size_t p = 0; p < g[0].size(); ++p) {
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < g[0][p].size(); ++i) {
      diff = std::max(diff, std::abs(g[0][p][i] - g[1][p][i]));
      scale = std::max(scale, std::abs(g[1][p][i]));
    }
    c.grad_rel = std::max(c.grad_rel, diff / std::max(scale, 1e-30));
  }
  return c;
}

std::vector<Spec> compare_specs(const std::vector<std::string>& only) {
  std::vector<Spec> specs = main_specs();
  for (const Spec& s : rnn_length_specs()) specs.push_back(s);
  if (!only.empty())
    std::erase_if(specs, [&](const Spec& s) { return std::find(only.begin(), only.end(), s.name) == only.end(); });
  return specs;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, sep);)
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace agbench
