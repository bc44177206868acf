// Forward-mode cost (issue #17: a JVP through a graph costs at most ~2x its forward pass): for each
// workload of bench/workloads.h, the loss under NoGradGuard at a forward-AD level, with tangents on
//   nn_jvp_input/<name>   the input (a random direction; not for lm, whose input is token ids), or
//   nn_jvp_params/<name>  every parameter (the directional derivative of the loss along a random
//                         direction in parameter space: one more product per GEMM than _input),
// and, in the same loop, the same forward with forward mode suspended. Manual time: the JVP pass.
// Counters: jvp_ms, fwd_ms (means) and jvp_over_fwd. Tangents are attached to the workload's own
// tensors with ag::detail::set_tangent (what make_dual does to its alias), so the model runs as is.
//   ag_bench --benchmark_filter='nn_jvp'
#include <benchmark/benchmark.h>

#include <chrono>

#include "autograd/autograd.h"
#include "bench/workloads.h"

namespace {

using namespace agbench;
using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

void jvp_forward(benchmark::State& state, const Spec& s, bool params) {
  const Workload w(s);
  ag::autograd::forward_ad::dual_level level;
  ag::manual_seed(7);
  if (params) {
    for (const ag::Tensor& p : w.parameters())
      ag::detail::set_tangent(p, ag::randn(p.shape(), ag::TensorOptions().dtype(p.dtype())), "nn_jvp");
  } else {
    const ag::Tensor& x = w.input();
    ag::detail::set_tangent(x, ag::randn(x.shape(), ag::TensorOptions().dtype(x.dtype())), "nn_jvp");
  }
  ag::NoGradGuard no_grad;
  double jvp_s = 0, fwd_s = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    {
      const ag::Tensor loss = w.forward_nograd();
      const ag::Tensor t = ag::autograd::forward_ad::unpack_dual(loss).tangent;
      if (!t.defined()) state.SkipWithError("the loss carries no tangent");
      benchmark::DoNotOptimize(t.raw_data());
    }
    const auto t1 = Clock::now();
    {
      ag::detail::FwSuspend plain;
      benchmark::DoNotOptimize(w.forward_nograd().raw_data());
    }
    const auto t2 = Clock::now();
    jvp_s += seconds(t0, t1);
    fwd_s += seconds(t1, t2);
    state.SetIterationTime(seconds(t0, t1));
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["jvp_ms"] = 1e3 * jvp_s / n;
  state.counters["fwd_ms"] = 1e3 * fwd_s / n;
  state.counters["jvp_over_fwd"] = jvp_s / fwd_s;
}

const bool registered = [] {
  for (const Spec& s : main_specs()) {
    const auto unit = s.kind == Kind::Xor ? benchmark::kMicrosecond : benchmark::kMillisecond;
    if (s.kind != Kind::Lm && s.kind != Kind::Chain)
      benchmark::RegisterBenchmark(("nn_jvp_input/" + s.name).c_str(), jvp_forward, s, false)
          ->UseManualTime()
          ->Unit(unit);
    benchmark::RegisterBenchmark(("nn_jvp_params/" + s.name).c_str(), jvp_forward, s, true)
        ->UseManualTime()
        ->Unit(unit);
  }
  return true;
}();

}  // namespace
