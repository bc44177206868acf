// The data loader feeding a training step (issue #14): an MLP 784-256-256-10 (ReLU), batch 64,
// cross-entropy, SGD, trained from a TensorPairDataset of random data (3200 examples, float32)
// through make_data_loader(dataset.map(Stack<>()), RandomSampler, batch_size(64).workers(w)).
//   data_loader_step/workers:<w>  one training step per iteration, the next batch taken from the
//                                 loader first (a new epoch begun when one ends).
// Counters: wait_fraction (time spent getting the next batch / whole step, target <= 0.05 with 2
// workers), wait_us and step_us per step (wall clock); wait_cpu_us and step_cpu_us, the same in the
// training thread's CPU time (on a loaded machine the wall-clock wait also counts the time the
// workers were not scheduled; the CPU time of the wait is the hand-over's own cost). With
// workers:0 the wait is the time to make the batch on the training thread (index, stack): the
// work each batch costs a worker.
//   ag_bench --benchmark_filter=data_loader
#include <benchmark/benchmark.h>

#include <chrono>
#include <ctime>

#include <nn/nn.h>

namespace {

using Clock = std::chrono::steady_clock;

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

void data_loader_step(benchmark::State& state) {
  const auto workers = static_cast<std::size_t>(state.range(0));
  constexpr std::int64_t kExamples = 3200, kBatch = 64;
  ag::manual_seed(0);
  ag::data::datasets::TensorPairDataset dataset(ag::randn({kExamples, 784}), ag::randint(0, 10, {kExamples}));
  auto loader = ag::data::make_data_loader(dataset.map(ag::data::transforms::Stack<>()),
                                           ag::data::samplers::RandomSampler(kExamples, ag::kInt64, 1),
                                           ag::data::DataLoaderOptions().batch_size(kBatch).workers(workers));
  ag::nn::Sequential model(ag::nn::Linear(784, 256), ag::nn::ReLU(), ag::nn::Linear(256, 256), ag::nn::ReLU(),
                           ag::nn::Linear(256, 10));
  ag::optim::SGD optimizer(model->parameters(), ag::optim::SGDOptions(0.01));

  double wait_s = 0, wait_cpu_s = 0;
  auto it = loader->begin();
  const auto start = Clock::now();
  const double cpu_start = thread_cpu_s();
  for (auto _ : state) {
    // (the thread CPU clock is a system call, a place the scheduler preempts at: kept outside t0..t1)
    const double c0 = thread_cpu_s();
    const auto t0 = Clock::now();
    if (it == loader->end()) it = loader->begin();
    ag::data::Example<>& batch = *it;
    const auto t1 = Clock::now();
    const double c1 = thread_cpu_s();
    {
      optimizer.zero_grad();
      auto loss = ag::nn::functional::cross_entropy(model->forward(batch.data), batch.target);
      loss.backward();
      optimizer.step();
    }  // the graph freed inside the timed step
    ++it;
    wait_cpu_s += c1 - c0;
    wait_s += std::chrono::duration<double>(t1 - t0).count();
  }
  // the whole loop (a step's time includes the clocks' own cost and any preemption between steps)
  const double total_s = std::chrono::duration<double>(Clock::now() - start).count();
  const double total_cpu_s = thread_cpu_s() - cpu_start;
  const auto n = static_cast<double>(state.iterations());
  state.counters["wait_fraction"] = wait_s / total_s;
  state.counters["wait_us"] = 1e6 * wait_s / n;
  state.counters["step_us"] = 1e6 * total_s / n;
  state.counters["wait_cpu_us"] = 1e6 * wait_cpu_s / n;
  state.counters["step_cpu_us"] = 1e6 * total_cpu_s / n;
  state.SetItemsProcessed(state.iterations() * kBatch);
}

BENCHMARK(data_loader_step)->ArgName("workers")->Arg(0)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
