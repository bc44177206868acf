// Micro-benchmarks of the autograd ops (Google Benchmark).
//
// Run (Release build, numbers are meaningless in Debug):
//   cmake -S . -B /tmp/build-bench-rel -G Ninja -DCMAKE_BUILD_TYPE=Release
//   cmake --build /tmp/build-bench-rel --target ag_bench
//   /tmp/build-bench-rel/bench/ag_bench --benchmark_min_time=0.2
//   /tmp/build-bench-rel/bench/ag_bench --benchmark_format=json --benchmark_out=bench.json
//   /tmp/build-bench-rel/bench/ag_bench --benchmark_filter='matmul|sgemm'
//
// Inputs are drawn from ag::randn after ag::manual_seed(kSeed), so every run sees the same data.
// Every benchmark reports wall-clock (real) time: OpenBLAS may use several threads.
//
// What is timed:
//  - <op>_fwd/n       y = op(inputs) under ag::NoGradGuard (nothing recorded), including the
//                     allocation of y and its release at the end of the iteration.
//  - <op>_fwd_bwd/n   (bwd_over_fwd: backward time / forward time, timed apart in the same loop)
//                     inputs require grad; y = op(inputs) is recorded, then y.backward(ones) with a
//                     ones gradient of y's shape allocated once outside the loop (sum: loss = sum(x),
//                     backward() with the implicit 1). The leaves' .grad() are cleared at the end of
//                     each iteration (set to undefined, as zero_grad(set_to_none)), inside the timing,
//                     so every backward writes fresh gradients rather than accumulating.
//    items_per_second counts elements of the op's output. add_bcast is x[n/k, k] + b[k] with
//    k = min(n, 100) (both require grad, so b's gradient is a reduction); mul is x[n] * z[n].
//  - matmul_fwd/n     C = A B for square float32 n x n under NoGradGuard. GFLOPs = 2 n^3 per iteration.
//  - matmul_fwd_bwd/n A, B require grad; forward C = A B and backward C.backward(ones) are timed
//                     separately with std::chrono (manual time = forward + backward; clearing the
//                     grads is outside the timing). GFLOPs = 6 n^3 per iteration (one GEMM forward,
//                     two backward); bwd_over_fwd = mean backward time / mean forward time, both from
//                     this same benchmark; fwd_us and bwd_us are those means.
//  - sgemm/n          plain cblas_sgemm on preallocated buffers (the BLAS ceiling), 2 n^3 per iteration.
//  - gemm/m/n/k/tb/xsmm kernels::gemm on preallocated float32 buffers, C[m,n] = A[m,k] op(B) with B
//                     [n,k] transposed (tb = 1, as linear's and the RNN cells' forward) or [k,n]
//                     (tb = 0, as their backward), through libxsmm (xsmm = 1) or OpenBLAS (xsmm = 0),
//                     forced with kernels::set_gemm_backend; the shapes of workloads 3, 4, 6, 7, 8.
//  - gemm_backends/m/n/k/ta/tb/backend/f64  kernels::gemm forced through one backend (0 OpenBLAS as
//                     the environment sets it, 1 libxsmm, 2 oneDNN's dnnl_sgemm, 3 the automatic
//                     routing) on one thread, for the products of the workloads: forward A B^T and
//                     the backward A B and A^T B of each layer of workloads 3-8 (docs/benchmarks/
//                     2026-12-06-gemm.md). CPU time (one thread; other processes share the machine),
//                     ten repetitions of 10 ms: read the "_max" row of GFLOP/s (the fastest
//                     repetition); a backend that cannot take the shape is skipped.
//                     ag_bench --benchmark_filter=gemm_backends
//  - chain_fwd_bwd/N  0-d float64 tensors: y = x; then N ops alternating y = y + a and y = y * b
//                     (x, a, b leaves requiring grad), then y.backward(). Forward and backward are timed
//                     separately with std::chrono; ns_per_op = (forward + backward) / N, plus
//                     fwd_ns_per_op and bwd_ns_per_op. items_per_second counts the N ops.
//  - chain_fwd_bwd_profiled/N the same with an ag::Profiler active during forward and backward (a fresh
//                     one per iteration; building and dropping it is outside the timing): the profiler's
//                     overhead when on, against chain_fwd_bwd/N.
//  - chain_fwd_nograd/N the same forward under ag::NoGradGuard (the cost without recording), timed the
//                     same way; ns_per_op = forward / N.
//  - softmax_fwd/n, softmax_fwd_bwd/n over the last dim of x[n/k, k], k = min(n, 100), as the other
//                     ops, except that backward gets a fixed random gradient (a ones gradient would make
//                     the softmax VJP identically zero).
#include <benchmark/benchmark.h>
#include <cblas.h>

#include "autograd/kernels/blas.h"
#include "autograd/kernels/small_gemm.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "autograd/autograd.h"

namespace {

constexpr std::uint64_t kSeed = 20240607;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// ---------------------------------------------------------------- elementwise and reductions

// Output elements per iteration, for items_per_second.
void set_items(benchmark::State& state, std::int64_t per_iter) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * per_iter);
}

// Columns of the [n/k, k] layout used by the broadcasting add and softmax.
std::int64_t cols(std::int64_t n) { return std::min<std::int64_t>(n, 100); }

using UnaryFn = ag::Tensor (*)(const ag::Tensor&);

// Forward and backward timed apart inside a fwd_bwd loop (two steady_clock reads per iteration,
// ~20 ns each, included in the times): bwd_over_fwd = total backward / total forward.
struct FwdBwdSplit {
  double fwd = 0, bwd = 0;
  Clock::time_point t0, t1;
  void start() { t0 = Clock::now(); }
  void forward_done() { t1 = Clock::now(); }
  void backward_done() {
    const auto t2 = Clock::now();
    fwd += std::chrono::duration<double>(t1 - t0).count();
    bwd += std::chrono::duration<double>(t2 - t1).count();
  }
  void report(benchmark::State& state) const { state.counters["bwd_over_fwd"] = fwd > 0 ? bwd / fwd : 0.0; }
};

void unary_fwd(benchmark::State& state, UnaryFn f) {
  const std::int64_t n = state.range(0);
  ag::manual_seed(kSeed);
  const ag::Tensor x = ag::randn({n});
  ag::NoGradGuard no_grad;
  for (auto _ : state) {
    ag::Tensor y = f(x);
    benchmark::DoNotOptimize(y.raw_data());
  }
  set_items(state, n);
}

void unary_fwd_bwd(benchmark::State& state, UnaryFn f) {
  const std::int64_t n = state.range(0);
  ag::manual_seed(kSeed);
  ag::Tensor x = ag::randn({n});
  x.requires_grad_();
  const ag::Tensor g = ag::ones({n});
  FwdBwdSplit split;
  for (auto _ : state) {
    split.start();
    ag::Tensor y = f(x);
    split.forward_done();
    y.backward(g);
    split.backward_done();
    benchmark::DoNotOptimize(x.grad().raw_data());
    x.set_grad(ag::Tensor());
  }
  split.report(state);
  set_items(state, n);
}

ag::Tensor exp_op(const ag::Tensor& x) { return ag::exp(x); }
ag::Tensor tanh_op(const ag::Tensor& x) { return ag::tanh(x); }
ag::Tensor sigmoid_op(const ag::Tensor& x) { return ag::sigmoid(x); }
ag::Tensor relu_op(const ag::Tensor& x) { return ag::relu(x); }

// add with broadcasting: x[n/k, k] + b[k] (a bias row); mul: x[n] * z[n].
struct Binary {
  ag::Tensor a, b;
  ag::Tensor (*f)(const ag::Tensor&, const ag::Tensor&);
};

Binary make_binary(std::int64_t n, bool is_add) {
  ag::manual_seed(kSeed);
  if (is_add) {
    const std::int64_t k = cols(n);
    return {ag::randn({n / k, k}), ag::randn({k}), [](const ag::Tensor& a, const ag::Tensor& b) { return a + b; }};
  }
  return {ag::randn({n}), ag::randn({n}), [](const ag::Tensor& a, const ag::Tensor& b) { return a * b; }};
}

void binary_fwd(benchmark::State& state, bool is_add) {
  const std::int64_t n = state.range(0);
  const Binary op = make_binary(n, is_add);
  ag::NoGradGuard no_grad;
  for (auto _ : state) {
    ag::Tensor y = op.f(op.a, op.b);
    benchmark::DoNotOptimize(y.raw_data());
  }
  set_items(state, n);
}

void binary_fwd_bwd(benchmark::State& state, bool is_add) {
  const std::int64_t n = state.range(0);
  Binary op = make_binary(n, is_add);
  op.a.requires_grad_();
  op.b.requires_grad_();
  const ag::Tensor g = ag::ones(op.a.shape());
  FwdBwdSplit split;
  for (auto _ : state) {
    split.start();
    ag::Tensor y = op.f(op.a, op.b);
    split.forward_done();
    y.backward(g);
    split.backward_done();
    benchmark::DoNotOptimize(op.a.grad().raw_data());
    benchmark::DoNotOptimize(op.b.grad().raw_data());
    op.a.set_grad(ag::Tensor());
    op.b.set_grad(ag::Tensor());
  }
  split.report(state);
  set_items(state, n);
}

void BM_add_bcast_fwd(benchmark::State& s) { binary_fwd(s, true); }
void BM_add_bcast_fwd_bwd(benchmark::State& s) { binary_fwd_bwd(s, true); }
void BM_mul_fwd(benchmark::State& s) { binary_fwd(s, false); }
void BM_mul_fwd_bwd(benchmark::State& s) { binary_fwd_bwd(s, false); }
void BM_tanh_fwd(benchmark::State& s) { unary_fwd(s, tanh_op); }
void BM_tanh_fwd_bwd(benchmark::State& s) { unary_fwd_bwd(s, tanh_op); }
void BM_sigmoid_fwd(benchmark::State& s) { unary_fwd(s, sigmoid_op); }
void BM_sigmoid_fwd_bwd(benchmark::State& s) { unary_fwd_bwd(s, sigmoid_op); }
void BM_relu_fwd(benchmark::State& s) { unary_fwd(s, relu_op); }
void BM_relu_fwd_bwd(benchmark::State& s) { unary_fwd_bwd(s, relu_op); }
void BM_exp_fwd(benchmark::State& s) { unary_fwd(s, exp_op); }
void BM_exp_fwd_bwd(benchmark::State& s) { unary_fwd_bwd(s, exp_op); }

void BM_sum_fwd(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  ag::manual_seed(kSeed);
  const ag::Tensor x = ag::randn({n});
  ag::NoGradGuard no_grad;
  for (auto _ : state) {
    ag::Tensor y = ag::sum(x);
    benchmark::DoNotOptimize(y.raw_data());
  }
  set_items(state, n);
}

void BM_sum_fwd_bwd(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  ag::manual_seed(kSeed);
  ag::Tensor x = ag::randn({n});
  x.requires_grad_();
  FwdBwdSplit split;
  for (auto _ : state) {
    split.start();
    ag::Tensor loss = ag::sum(x);
    split.forward_done();
    loss.backward();
    split.backward_done();
    benchmark::DoNotOptimize(x.grad().raw_data());
    x.set_grad(ag::Tensor());
  }
  split.report(state);
  set_items(state, n);
}

#define AG_ELEMENTWISE(fn) BENCHMARK(fn)->UseRealTime()->Arg(1)->Arg(1000)->Arg(1000000)
AG_ELEMENTWISE(BM_add_bcast_fwd);
AG_ELEMENTWISE(BM_add_bcast_fwd_bwd);
AG_ELEMENTWISE(BM_mul_fwd);
AG_ELEMENTWISE(BM_mul_fwd_bwd);
AG_ELEMENTWISE(BM_tanh_fwd);
AG_ELEMENTWISE(BM_tanh_fwd_bwd);
AG_ELEMENTWISE(BM_sigmoid_fwd);
AG_ELEMENTWISE(BM_sigmoid_fwd_bwd);
AG_ELEMENTWISE(BM_relu_fwd);
AG_ELEMENTWISE(BM_relu_fwd_bwd);
AG_ELEMENTWISE(BM_exp_fwd);
AG_ELEMENTWISE(BM_exp_fwd_bwd);
AG_ELEMENTWISE(BM_sum_fwd);
AG_ELEMENTWISE(BM_sum_fwd_bwd);

// contiguous() of a transposed float32 matrix [rows, cols] (args): the copy of W_hh^T a recurrent
// layer makes per forward (256 x 1024 for an LSTM 128-256), through kernels::transposed_copy.
void BM_t_contiguous(benchmark::State& state) {
  ag::manual_seed(kSeed);
  const ag::Tensor m = ag::randn({state.range(1), state.range(0)});
  for (auto _ : state) {
    ag::Tensor y = m.t().contiguous();
    benchmark::DoNotOptimize(y.raw_data());
  }
  set_items(state, state.range(0) * state.range(1));
}
BENCHMARK(BM_t_contiguous)
    ->Args({128, 128})
    ->Args({256, 1024})
    ->Args({1024, 1024})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// ---------------------------------------------------------------- anomaly detection's cost
// A chain of 100 tanh ops on a 4-element tensor, forward and backward, with anomaly detection off
// (arg 0: the hooks' one branch) and on (arg 1: every output and gradient scanned, a stack trace
// captured per recorded op).
void BM_anomaly_chain(benchmark::State& state) {
  const bool on = state.range(0) != 0;
  ag::manual_seed(kSeed);
  ag::Tensor x = ag::randn({4}, ag::kFloat64);
  x.requires_grad_();
  ag::autograd::set_detect_anomaly(on);
  for (auto _ : state) {
    ag::Tensor y = x;
    for (int i = 0; i < 100; ++i) y = ag::tanh(y);
    y.sum().backward();
    x.set_grad(ag::Tensor());
  }
  ag::autograd::set_detect_anomaly(false);
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_anomaly_chain)->UseRealTime()->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// ---------------------------------------------------------------- matmul and the BLAS ceiling

double matmul_flops(std::int64_t n) {
  return 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
}

void set_gflops(benchmark::State& state, double flops_per_iter) {
  state.counters["GFLOPs"] =
      benchmark::Counter(flops_per_iter * 1e-9 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_matmul_fwd(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  ag::manual_seed(kSeed);
  const ag::Tensor a = ag::randn({n, n}), b = ag::randn({n, n});
  ag::NoGradGuard no_grad;
  for (auto _ : state) {
    ag::Tensor c = ag::matmul(a, b);
    benchmark::DoNotOptimize(c.raw_data());
  }
  set_gflops(state, matmul_flops(n));
}

void BM_matmul_fwd_bwd(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  ag::manual_seed(kSeed);
  ag::Tensor a = ag::randn({n, n}), b = ag::randn({n, n});
  a.requires_grad_();
  b.requires_grad_();
  const ag::Tensor g = ag::ones({n, n});
  double fwd = 0.0, bwd = 0.0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    ag::Tensor c = ag::matmul(a, b);
    const auto t1 = Clock::now();
    c.backward(g);
    const double f = std::chrono::duration<double>(t1 - t0).count(), bk = seconds_since(t1);
    benchmark::DoNotOptimize(a.grad().raw_data());
    benchmark::DoNotOptimize(b.grad().raw_data());
    fwd += f;
    bwd += bk;
    state.SetIterationTime(f + bk);
    a.set_grad(ag::Tensor());
    b.set_grad(ag::Tensor());
  }
  set_gflops(state, 3.0 * matmul_flops(n));
  const double iters = static_cast<double>(state.iterations());
  state.counters["bwd_over_fwd"] = fwd > 0.0 ? bwd / fwd : 0.0;
  state.counters["fwd_us"] = 1e6 * fwd / iters;
  state.counters["bwd_us"] = 1e6 * bwd / iters;
}

void BM_sgemm(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  std::mt19937 rng(kSeed);
  std::normal_distribution<float> dist;
  std::vector<float> a(static_cast<std::size_t>(n * n)), b(a.size()), c(a.size());
  for (auto& v : a) v = dist(rng);
  for (auto& v : b) v = dist(rng);
  const int ni = static_cast<int>(n);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1.0f, a.data(), ni, b.data(), ni, 0.0f, c.data(),
                ni);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_gflops(state, matmul_flops(n));
}

void BM_gemm(benchmark::State& state) {
  const std::int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  const bool tb = state.range(3) != 0, xsmm = state.range(4) != 0;
  if (xsmm && !ag::kernels::small_gemm_available()) return state.SkipWithError("built without libxsmm");
  std::mt19937 rng(kSeed);
  std::normal_distribution<float> dist;
  std::vector<float> a(static_cast<std::size_t>(m * k)), b(static_cast<std::size_t>(k * n)),
      c(static_cast<std::size_t>(m * n));
  for (auto& v : a) v = dist(rng);
  for (auto& v : b) v = dist(rng);
  const auto was =
      ag::kernels::set_gemm_backend(xsmm ? ag::kernels::GemmBackend::libxsmm : ag::kernels::GemmBackend::openblas);
  for (auto _ : state) {
    ag::kernels::gemm(false, tb, m, n, k, a.data(), b.data(), c.data());
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  ag::kernels::set_gemm_backend(was);
  set_gflops(state, 2.0 * static_cast<double>(m * n * k));
}

void gemm_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"m", "n", "k", "tb", "xsmm"});
  const std::int64_t shapes[][3] = {{32, 128, 64},  {32, 128, 128}, {64, 256, 784}, {64, 256, 256},
                                    {16, 128, 128}, {16, 512, 128}, {800, 128, 32}, {1, 32, 32}};
  for (const auto& s : shapes)
    for (std::int64_t tb : {1, 0})
      for (std::int64_t x : {1, 0}) b->Args({s[0], s[1], s[2], tb, x});
}

template <class T>
void gemm_backends(benchmark::State& state) {
  using ag::kernels::GemmBackend;
  const std::int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  const bool ta = state.range(3) != 0, tb = state.range(4) != 0;
  const auto backend = static_cast<GemmBackend>(state.range(5) == 3 ? 0 : state.range(5) + 1);
  if (!ag::kernels::gemm_backend_available(backend) || (backend == GemmBackend::dnnl && sizeof(T) == 8))
    return state.SkipWithError("backend not in this build (or no float64)");
  std::mt19937 rng(kSeed);
  std::normal_distribution<T> dist;
  std::vector<T> a(static_cast<std::size_t>(m * k)), b(static_cast<std::size_t>(k * n)),
      c(static_cast<std::size_t>(m * n));
  for (auto& v : a) v = dist(rng);
  for (auto& v : b) v = dist(rng);
  const int threads = ag::get_num_threads();
  ag::set_num_threads(1);
  const GemmBackend was = ag::kernels::set_gemm_backend(backend);
  const auto xsmm_calls = ag::kernels::small_gemm_calls();
  ag::kernels::gemm(ta, tb, m, n, k, a.data(), b.data(), c.data());
  const bool declined = backend == GemmBackend::libxsmm && ag::kernels::small_gemm_calls() == xsmm_calls;
  for (auto _ : state) {
    if (declined) break;
    ag::kernels::gemm(ta, tb, m, n, k, a.data(), b.data(), c.data());
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  ag::kernels::set_gemm_backend(was);
  ag::set_num_threads(threads);
  if (declined) return state.SkipWithError("libxsmm declines this shape");
  set_gflops(state, 2.0 * static_cast<double>(m * n * k));
}

void gemm_backend_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"m", "n", "k", "ta", "tb", "backend"});
  // (batch, in, out) of the layers of workloads 3-8 and RNN cells at batch 1 and 64
  const std::int64_t layers[][3] = {{32, 64, 128},  {32, 128, 128},    {32, 128, 10},   {64, 784, 256}, {64, 256, 256},
                                    {64, 256, 10},  {256, 1024, 1024}, {256, 1024, 10}, {16, 32, 128},  {16, 128, 128},
                                    {800, 32, 128}, {16, 128, 512},    {1, 128, 128},   {64, 128, 128}, {1, 8, 32},
                                    {1, 32, 32},    {64, 32, 32}};
  for (const auto& l : layers) {
    const std::int64_t B = l[0], in = l[1], out = l[2];
    // forward x W^T, backward dY W and dY^T x
    const std::int64_t products[][5] = {{B, out, in, 0, 1}, {B, in, out, 0, 0}, {out, in, B, 1, 0}};
    for (const auto& p : products)
      for (std::int64_t backend : {0, 1, 2, 3}) b->Args({p[0], p[1], p[2], p[3], p[4], backend});
  }
}

BENCHMARK_TEMPLATE(gemm_backends, float)
    ->Name("gemm_backends")
    ->Apply(gemm_backend_shapes)
    ->Repetitions(10)
    ->MinTime(0.01)
    ->ComputeStatistics("max", [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); })
    ->ComputeStatistics("min", [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); })
    ->ReportAggregatesOnly(true)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(gemm_backends, double)
    ->Name("gemm_backends_f64")
    ->Apply(gemm_backend_shapes)
    ->Repetitions(10)
    ->MinTime(0.01)
    ->ComputeStatistics("max", [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); })
    ->ComputeStatistics("min", [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); })
    ->ReportAggregatesOnly(true)
    ->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_gemm)->Apply(gemm_shapes)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_matmul_fwd)->UseRealTime()->Arg(64)->Arg(256)->Arg(1024)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_matmul_fwd_bwd)->UseManualTime()->Arg(64)->Arg(256)->Arg(1024)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_sgemm)->UseRealTime()->Arg(64)->Arg(256)->Arg(1024)->Unit(benchmark::kMicrosecond);

// ---------------------------------------------------------------- tape overhead: a scalar chain

struct Chain {
  ag::Tensor x, a, b;
  Chain() {
    x = ag::scalar_tensor(0.5, ag::kFloat64);
    a = ag::scalar_tensor(0.25, ag::kFloat64);
    b = ag::scalar_tensor(0.999, ag::kFloat64);  // keeps values and gradients away from overflow/denormals
  }
  ag::Tensor forward(std::int64_t n) const {
    ag::Tensor y = x;
    for (std::int64_t i = 0; i < n; ++i) y = (i % 2 == 0) ? y + a : y * b;
    return y;
  }
};

// With `profiled`, an ag::Profiler is active on the thread during the loop (a fresh one per
// iteration, so its event log does not grow across iterations; its construction and destruction
// are outside the timing).
void chain_fwd_bwd(benchmark::State& state, bool profiled) {
  const std::int64_t n = state.range(0);
  Chain ch;
  ch.x.requires_grad_();
  ch.a.requires_grad_();
  ch.b.requires_grad_();
  double fwd = 0.0, bwd = 0.0;
  for (auto _ : state) {
    std::optional<ag::Profiler> prof;
    if (profiled) prof.emplace();
    const auto t0 = Clock::now();
    ag::Tensor y = ch.forward(n);
    const auto t1 = Clock::now();
    y.backward();
    const double f = std::chrono::duration<double>(t1 - t0).count(), bk = seconds_since(t1);
    prof.reset();
    benchmark::DoNotOptimize(ch.x.grad().raw_data());
    fwd += f;
    bwd += bk;
    state.SetIterationTime(f + bk);
    ch.x.set_grad(ag::Tensor());
    ch.a.set_grad(ag::Tensor());
    ch.b.set_grad(ag::Tensor());
  }
  const double ops = static_cast<double>(state.iterations()) * static_cast<double>(n);
  state.SetItemsProcessed(static_cast<std::int64_t>(ops));
  state.counters["ns_per_op"] = 1e9 * (fwd + bwd) / ops;
  state.counters["fwd_ns_per_op"] = 1e9 * fwd / ops;
  state.counters["bwd_ns_per_op"] = 1e9 * bwd / ops;
}

void BM_chain_fwd_bwd(benchmark::State& state) { chain_fwd_bwd(state, false); }
void BM_chain_fwd_bwd_profiled(benchmark::State& state) { chain_fwd_bwd(state, true); }

void BM_chain_fwd_nograd(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const Chain ch;
  ag::NoGradGuard no_grad;
  double fwd = 0.0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    ag::Tensor y = ch.forward(n);
    const double f = seconds_since(t0);
    benchmark::DoNotOptimize(y.raw_data());
    fwd += f;
    state.SetIterationTime(f);
  }
  const double ops = static_cast<double>(state.iterations()) * static_cast<double>(n);
  state.SetItemsProcessed(static_cast<std::int64_t>(ops));
  state.counters["ns_per_op"] = 1e9 * fwd / ops;
}

BENCHMARK(BM_chain_fwd_bwd)->UseManualTime()->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);
BENCHMARK(BM_chain_fwd_bwd_profiled)->UseManualTime()->Arg(10000);
BENCHMARK(BM_chain_fwd_nograd)->UseManualTime()->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);

// ---------------------------------------------------------------- softmax over the last dim

ag::Tensor softmax_input(std::int64_t n) {
  ag::manual_seed(kSeed);
  const std::int64_t k = cols(n);
  return ag::randn({n / k, k});
}

void BM_softmax_fwd(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const ag::Tensor x = softmax_input(n);
  ag::NoGradGuard no_grad;
  for (auto _ : state) {
    ag::Tensor y = ag::softmax(x, -1);
    benchmark::DoNotOptimize(y.raw_data());
  }
  set_items(state, n);
}

void BM_softmax_fwd_bwd(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  ag::Tensor x = softmax_input(n);
  x.requires_grad_();
  // A ones gradient would make the softmax VJP exactly zero; a fixed random one is representative.
  ag::manual_seed(kSeed + 1);
  const ag::Tensor g = ag::randn(x.shape());
  FwdBwdSplit split;
  for (auto _ : state) {
    split.start();
    ag::Tensor y = ag::softmax(x, -1);
    split.forward_done();
    y.backward(g);
    split.backward_done();
    benchmark::DoNotOptimize(x.grad().raw_data());
    x.set_grad(ag::Tensor());
  }
  split.report(state);
  set_items(state, n);
}

AG_ELEMENTWISE(BM_softmax_fwd);
AG_ELEMENTWISE(BM_softmax_fwd_bwd);

}  // namespace
