// The benchmark workloads of bench/workloads.h under Google Benchmark, four benchmarks each:
//   nn_fwd_nograd/<name>  the loss under NoGradGuard (nothing recorded)
//   nn_fwd/<name>         the loss, recorded; the result is dropped so the tape rewinds
//   nn_fwd_bwd/<name>     manual time: forward (recorded) and backward timed apart with steady_clock
//                         in one loop, and a NoGradGuard forward in the same loop (zero_grad is
//                         outside the timing). Counters fwd_ms, bwd_ms, nograd_ms (medians would
//                         need the samples: these are means), bwd_over_fwd, rec_over_nograd (recorded
//                         forward / forward under NoGradGuard).
//   train_step/<name>     zero_grad, forward, loss, backward, SGD step: the training step.
//   train_step_openblas/<name>  the same with kernels::set_gemm_backend(GemmBackend::openblas): every
//                         GEMM through OpenBLAS, none through libxsmm or oneDNN (only in builds with one of them).
//   train_step_libxsmm/<name>   the same with kernels::set_gemm_backend(GemmBackend::libxsmm): libxsmm
//                         where it takes the product, OpenBLAS otherwise (the routing before oneDNN).
// All times are wall-clock (OpenBLAS and the library may use several threads), rates per real second.
// Counters: items_per_second (Spec::items: batch, batch*T or ops), GFLOP/s for the MLPs (FLOP
// counts in workloads.h: forward F = 2 B sum(in*out), backward 2F - 2 B in_0 out_0), and for
// train_step the tape memory after one forward pass: tape_heap (heap bytes allocated by forward and
// still held, glibc mallinfo2 as examples/demo/cost.cpp), tape_arena (Tape::arena_bytes), tape_nodes.
// For workload 9 (rnn_T<T>) also us_per_t and tape_bytes_per_t (heap + arena per time step): flat
// across T means time and memory grow linearly with T. (From T = 200 the RNN's gradient falls below
// float32's normal range: backward on subnormals is 10-20x slower unless FTZ is on, see
// ag::set_flush_denormal; ag_compare turns it on for both engines.)
//   ag_bench --benchmark_filter=train_step
//   ag_bench --benchmark_filter='nn_|train_step' --benchmark_format=json --benchmark_out=nn.json
// ag_compare (bench/compare.cpp, with -DAG_BUILD_COMPARE=ON and libtorch) runs them next to libtorch.
#include <benchmark/benchmark.h>

#include <chrono>

#include "autograd/kernels/blas.h"
#include "autograd/kernels/dnnl_gemm.h"
#include "autograd/kernels/small_gemm.h"
#include "bench/workloads.h"

namespace {

using namespace agbench;
using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

void set_rates(benchmark::State& state, const Spec& s, double flops_per_iter) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * s.items());
  if (flops_per_iter > 0)
    state.counters["GFLOP/s"] = benchmark::Counter(flops_per_iter * static_cast<double>(state.iterations()) * 1e-9,
                                                   benchmark::Counter::kIsRate);
}

// The loss alone, under NoGradGuard or recorded (then dropped: the tape rewinds).
void forward_only(benchmark::State& state, const Spec& s, bool record) {
  const Workload w(s);
  for (auto _ : state) {
    ag::Tensor loss = record ? w.forward() : w.forward_nograd();
    benchmark::DoNotOptimize(loss.raw_data());
  }
  set_rates(state, s, s.forward_flops());
}

void fwd_bwd(benchmark::State& state, const Spec& s) {
  Workload w(s);
  double fwd_s = 0, bwd_s = 0, nograd_s = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    { benchmark::DoNotOptimize(w.forward_nograd().raw_data()); }
    const auto t1 = Clock::now();
    ag::Tensor loss = w.forward();
    const auto t2 = Clock::now();
    loss.backward();
    const auto t3 = Clock::now();
    w.zero_grad();
    nograd_s += seconds(t0, t1);
    fwd_s += seconds(t1, t2);
    bwd_s += seconds(t2, t3);
    state.SetIterationTime(seconds(t1, t3));
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["fwd_ms"] = 1e3 * fwd_s / n;
  state.counters["bwd_ms"] = 1e3 * bwd_s / n;
  state.counters["nograd_ms"] = 1e3 * nograd_s / n;
  state.counters["bwd_over_fwd"] = bwd_s / fwd_s;
  state.counters["rec_over_nograd"] = fwd_s / nograd_s;
  set_rates(state, s, s.forward_flops() + s.backward_flops());
}

void train_step(benchmark::State& state, const Spec& s, bool per_t) {
  Workload w(s);
  const TapeMemory mem = measure_tape_memory(w);
  const auto start = Clock::now();
  for (auto _ : state) benchmark::DoNotOptimize(w.step());
  const double elapsed = seconds(start, Clock::now());
  set_rates(state, s, s.forward_flops() + s.backward_flops());
  state.counters["tape_heap"] = mem.heap_bytes;
  state.counters["tape_arena"] = static_cast<double>(mem.arena_bytes);
  state.counters["tape_nodes"] = static_cast<double>(mem.nodes);
  if (per_t) {
    const double T = static_cast<double>(s.steps);
    state.counters["us_per_t"] = 1e6 * elapsed / (T * static_cast<double>(state.iterations()));
    state.counters["tape_bytes_per_t"] = mem.total() / T;
  }
}

void train_step_openblas(benchmark::State& state, const Spec& s) {
  const auto was = ag::kernels::set_gemm_backend(ag::kernels::GemmBackend::openblas);
  train_step(state, s, false);
  ag::kernels::set_gemm_backend(was);
}

void train_step_libxsmm(benchmark::State& state, const Spec& s) {
  const auto was = ag::kernels::set_gemm_backend(ag::kernels::GemmBackend::libxsmm);
  train_step(state, s, false);
  ag::kernels::set_gemm_backend(was);
}

const bool registered = [] {
  for (const Spec& s : main_specs()) {
    const auto unit = s.kind == Kind::Xor ? benchmark::kMicrosecond : benchmark::kMillisecond;
    benchmark::RegisterBenchmark(("nn_fwd_nograd/" + s.name).c_str(), forward_only, s, false)
        ->UseRealTime()
        ->Unit(unit);
    benchmark::RegisterBenchmark(("nn_fwd/" + s.name).c_str(), forward_only, s, true)->UseRealTime()->Unit(unit);
    benchmark::RegisterBenchmark(("nn_fwd_bwd/" + s.name).c_str(), fwd_bwd, s)->UseManualTime()->Unit(unit);
    benchmark::RegisterBenchmark(("train_step/" + s.name).c_str(), train_step, s, false)->UseRealTime()->Unit(unit);
    if ((ag::kernels::small_gemm_available() || ag::kernels::dnnl_gemm_available()) && s.kind != Kind::Chain)
      benchmark::RegisterBenchmark(("train_step_openblas/" + s.name).c_str(), train_step_openblas, s)
          ->UseRealTime()
          ->Unit(unit);
    if (ag::kernels::small_gemm_available() && ag::kernels::dnnl_gemm_available() && s.kind != Kind::Chain)
      benchmark::RegisterBenchmark(("train_step_libxsmm/" + s.name).c_str(), train_step_libxsmm, s)
          ->UseRealTime()
          ->Unit(unit);
  }
  for (const Spec& s : rnn_length_specs()) {
    benchmark::RegisterBenchmark(("nn_fwd_bwd/" + s.name).c_str(), fwd_bwd, s)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("train_step/" + s.name).c_str(), train_step, s, true)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
  return true;
}();

}  // namespace
