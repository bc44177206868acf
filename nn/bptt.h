#pragma once
/// @file bptt.h
/// Backpropagation through time helpers: truncated BPTT over windows of k steps, and per-step
/// gradient norms ||dLoss/dh_t|| for looking at vanishing and exploding gradients.

#include <algorithm>
#include <functional>
#include <tuple>
#include <type_traits>
#include <vector>

#include <autograd/autograd.h>

namespace ag::nn {

/// The recurrent state cut from the graph (its values kept): a Tensor or an (h, c) pair.
inline Tensor detach_state(const Tensor& s) { return s.defined() ? s.detach() : s; }
inline std::tuple<Tensor, Tensor> detach_state(const std::tuple<Tensor, Tensor>& s) {
  return {detach_state(std::get<0>(s)), detach_state(std::get<1>(s))};
}

/// Truncated BPTT: splits `sequence` [T, ...] along dim 0 into windows of `k` steps (the last may
/// be shorter) and calls `window(chunk, t0, state)` for each, in order. The callback runs the
/// forward pass over its chunk from `state`, computes its loss, calls backward (and usually an
/// optimizer step) and returns the final state; that state is detached before it is carried into
/// the next window, so each backward covers at most k steps. Returns the last state (detached).
/// State is deduced from `initial` alone, so `window` may be a plain lambda.
template <class State>
State truncated_bptt(
    const Tensor& sequence, std::int64_t k, State initial,
    const std::type_identity_t<std::function<State(const Tensor& chunk, std::int64_t t0, const State& state)>>&
        window) {
  if (k <= 0) fail("truncated_bptt: window length k must be positive, got {}", k);
  if (sequence.dim() == 0) fail("truncated_bptt: the sequence must have a time dim, got {}", describe(sequence));
  State state = detach_state(initial);
  const auto T = sequence.size(0);
  for (std::int64_t t0 = 0; t0 < T; t0 += k) {
    const Tensor chunk = narrow(sequence, 0, t0, std::min(k, T - t0));
    state = detach_state(window(chunk, t0, state));
  }
  return state;
}

/// Collects hidden states during a forward pass (watch each h_t) and, after backward, reports
/// ||dLoss/dh_t|| for every t: the total derivative through the output and all later steps.
class HiddenGradMonitor {
 public:
  /// Marks h_t for gradient retention and remembers it (call in time order).
  void watch(const Tensor& h);
  /// Euclidean norm of each watched state's gradient (0 where no gradient reached it).
  std::vector<double> grad_norms() const;
  void clear() { states_.clear(); }
  std::size_t size() const { return states_.size(); }

 private:
  std::vector<Tensor> states_;
};

}  // namespace ag::nn
