#include "nn/bptt.h"

#include <cmath>

namespace ag::nn {

void HiddenGradMonitor::watch(const Tensor& h) {
  if (!h.requires_grad()) fail("HiddenGradMonitor: {} does not require grad, so no gradient can reach it", describe(h));
  h.retain_grad();
  states_.push_back(h);
}

std::vector<double> HiddenGradMonitor::grad_norms() const {
  std::vector<double> norms;
  for (const auto& h : states_) {
    const Tensor g = h.grad();
    double s = 0;
    if (g.defined())
      for (double v : g.to_vector<double>()) s += v * v;
    norms.push_back(std::sqrt(s));
  }
  return norms;
}

}  // namespace ag::nn
