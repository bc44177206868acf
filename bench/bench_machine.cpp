// The machine's limits that bound a training step from below, on one core: the float32 FMA peak
// (GFLOP/s) and the memory bandwidth of the passes an elementwise op or an optimizer makes over
// buffers larger than the caches (GB/s). docs/benchmarks/2026-12-07-lm-floor.md uses them to bound
// the language model's step.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

namespace {

using v16 = float __attribute__((vector_size(64)));
using v8 = float __attribute__((vector_size(32)));

// 12 independent chains of a = a b + c: enough in flight to fill both FMA ports (latency 4, 2 per
// cycle); inlined into a caller compiled for the vector width, and its sum returned so that the
// chains are not dropped.
template <class V, int Lanes>
[[gnu::always_inline]] inline float fma_chains(std::int64_t iters) {
  V a[12];
  for (int j = 0; j < 12; ++j) a[j] = V{} + (1.0f + float(j) * 1e-7f);
  const V b = V{} + 0.9999999f, c = V{} + 1e-8f;
  for (std::int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < 12; ++j) a[j] = a[j] * b + c;
  }
  float s = 0;
  for (int j = 0; j < 12; ++j)
    for (int l = 0; l < Lanes; ++l) s += a[j][l];
  return s;
}

[[gnu::target("avx512f,fma")]] float fma_avx512(std::int64_t iters) { return fma_chains<v16, 16>(iters); }
[[gnu::target("avx2,fma")]] float fma_avx2(std::int64_t iters) { return fma_chains<v8, 8>(iters); }

// Float32 FMA throughput of one core at its widest vectors (AVX-512 or AVX2): an upper bound on any
// single-thread sgemm.
void BM_fma_peak(benchmark::State& state) {
  __builtin_cpu_init();
  const bool wide = __builtin_cpu_supports("avx512f");
  if (!wide && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
    state.SkipWithError("no AVX2/FMA on this CPU");
    return;
  }
  constexpr std::int64_t iters = 1 << 22;
  for (auto _ : state) {
    std::int64_t n = iters;
    benchmark::DoNotOptimize(n);  // opaque: the call is not hoisted out of the loop
    benchmark::DoNotOptimize(wide ? fma_avx512(n) : fma_avx2(n));
  }
  const double flops = double(iters) * 12 * (wide ? 16 : 8) * 2;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(wide ? "avx512f" : "avx2");
}
BENCHMARK(BM_fma_peak)->Name("machine/fma_peak_f32")->UseRealTime();

// Passes over 7M floats (28 MB, the language model's logits): read (a sum), write (a fill),
// read + write (y = a x + b), and the SGD update p -= lr g (two reads, one write). bytes/s counts the
// bytes the pass must move.
constexpr std::size_t kStreamFloats = 7'000'000;

void BM_stream(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0));
  std::vector<float> a(kStreamFloats, 1.0f), b(kStreamFloats, 2.0f);
  float* pa = a.data();
  float* pb = b.data();
  const std::size_t n = kStreamFloats;
  float fill = 0;
  for (auto _ : state) {
    switch (kind) {
      case 0: {
        v16 s[4] = {};  // four vector sums: the adds keep up with memory
        for (std::size_t i = 0; i + 64 <= n; i += 64)
          for (int j = 0; j < 4; ++j) {
            v16 v;
            __builtin_memcpy(&v, pa + i + 16 * j, sizeof v);
            s[j] += v;
          }
        benchmark::DoNotOptimize(s);
        break;
      }
      case 1:
        fill += 1;
        for (std::size_t i = 0; i < n; ++i) pb[i] = fill;
        break;
      case 2:
        for (std::size_t i = 0; i < n; ++i) pb[i] = pa[i] * 0.5f + 1.0f;
        break;
      default:
        for (std::size_t i = 0; i < n; ++i) pa[i] -= 1e-9f * pb[i];
        break;
    }
    benchmark::ClobberMemory();
  }
  const double bytes = double(n) * sizeof(float) * (kind == 3 ? 3 : kind == 2 ? 2 : 1);
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes * double(state.iterations())));
  state.SetLabel(kind == 0 ? "read" : kind == 1 ? "write" : kind == 2 ? "read+write" : "sgd p -= lr g");
}
BENCHMARK(BM_stream)
    ->Name("machine/stream_28MB")
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Arg(3)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
