// Section 3: what forward and backward cost, measured. For MLPs and for an RNN at several lengths:
// the time of the forward pass alone (recorded, and with the tape off), of backward alone, their
// ratio, and the memory the graph holds right after the forward pass.
#include <fmt/core.h>
#include <malloc.h>

#include <algorithm>
#include <functional>

#include <nn/nn.h>

#include <autograd/autograd.h>

#include "common.h"

namespace demo {

namespace {

using namespace ag;

std::size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// Bytes in the allocator's own cache of free blocks (counted as "in use" by malloc).
std::size_t cached_free_bytes() { return pool_stats().cached_bytes; }

void drop_cached_blocks() { pool_release_cached(); }

struct Cost {
  std::string model;
  std::size_t nodes = 0, arena = 0;
  double heap = 0, fwd_ms = 0, bwd_ms = 0, nograd_ms = 0, bwd_ftz_ms = -1;
};

// Subnormal floats (below 1.2e-38 in float32) are slow on x86: an operation on one can cost ~100
// times a normal one. While alive, this thread flushes them to zero (ag::set_flush_denormal).
class FlushDenormals {
 public:
  FlushDenormals() : was_(get_flush_denormal()) { available_ = set_flush_denormal(true); }
  ~FlushDenormals() { set_flush_denormal(was_); }
  bool available() const { return available_; }

 private:
  bool was_, available_ = false;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

Cost measure(const std::string& name, const std::function<Tensor()>& loss_fn, double budget_s) {
  Cost c;
  c.model = name;
  for (int i = 0; i < 3; ++i) loss_fn().backward();  // warm up: the arena's blocks, BLAS, caches

  // Memory: everything allocated during the forward pass that is still alive when it ends.
  drop_cached_blocks();
  const std::size_t before = heap_in_use();
  {
    Tensor loss = loss_fn();
    const std::size_t after = heap_in_use();
    c.heap = static_cast<double>(after) - static_cast<double>(before) - static_cast<double>(cached_free_bytes());
    c.nodes = Tape::current().num_nodes();
    c.arena = Tape::current().arena_bytes();
    loss.backward();
  }

  std::vector<double> fwd, bwd, nograd;
  const auto start = Clock::now();
  while ((seconds_since(start) < budget_s && fwd.size() < 500) || fwd.size() < 5) {
    auto t0 = Clock::now();
    Tensor loss = loss_fn();
    auto t1 = Clock::now();
    loss.backward();
    auto t2 = Clock::now();
    {
      NoGradGuard no_grad;
      (void)loss_fn();
    }
    auto t3 = Clock::now();
    fwd.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    bwd.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    nograd.push_back(std::chrono::duration<double, std::milli>(t3 - t2).count());
  }
  c.fwd_ms = median(fwd);
  c.bwd_ms = median(bwd);
  c.nograd_ms = median(nograd);
  if (FlushDenormals ftz; ftz.available()) {
    std::vector<double> bwd_ftz;
    const auto start_ftz = Clock::now();
    while ((seconds_since(start_ftz) < budget_s / 2 && bwd_ftz.size() < 500) || bwd_ftz.size() < 5) {
      Tensor loss = loss_fn();
      auto t0 = Clock::now();
      loss.backward();
      bwd_ftz.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    c.bwd_ftz_ms = median(bwd_ftz);
  }
  return c;
}

}  // namespace

int run_cost(const Options& o) {
  heading(3, "Forward vs backward: measured cost");
  say("The seed's table says an FNN backpropagates layer by layer while an RNN backpropagates through time, "
      "over the unrolled sequence. Here are the figures (median time of one pass; the forward pass is timed "
      "with recording on, as in training, and with the tape off under NoGradGuard). Memory is taken right "
      "after the forward pass: 'nodes' and 'arena' are the tape's records (Tape::num_nodes, "
      "Tape::arena_bytes: nodes and edges only), 'held' is every heap byte allocated during the forward "
      "pass and still alive at its end (glibc mallinfo2, allocator caches subtracted): the tensors saved "
      "for backward and the results they keep, which is the memory backward needs.");
  const double budget = o.quick ? 0.05 : 0.4;
  std::vector<Cost> rows;
  manual_seed(o.seed);

  {
    nn::MLP xor_net(nn::MLPOptions({2, 4, 1}).activation(nn::Activation::Sigmoid).dtype(kFloat64));
    const Tensor X = tensor({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2}, kFloat64), y = tensor({0, 1, 1, 0}, {4, 1}, kFloat64);
    rows.push_back(measure(
        "MLP 2-4-1 (XOR), batch 4", [&] { return mse_loss(sigmoid(xor_net(X)), y); }, budget));
  }
  {
    nn::MLP mlp(nn::MLPOptions({64, 256, 256, 10}).activation(nn::Activation::ReLU));
    const Tensor X = randn({128, 64}), labels = randint(0, 10, {128});
    rows.push_back(measure(
        "MLP 64-256-256-10, batch 128", [&] { return cross_entropy(mlp(X), labels); }, budget));
  }
  constexpr std::int64_t kHidden = 64, kBatch = 32;
  nn::RNN rnn(nn::RNNOptions(2, kHidden));
  nn::LSTM lstm(nn::RNNOptions(2, kHidden));
  nn::Linear head(kHidden, 1);
  const Tensor target = rand({kBatch, 1});
  const std::vector<std::int64_t> lengths =
      o.quick ? std::vector<std::int64_t>{10, 50} : std::vector<std::int64_t>{10, 50, 100, 200};
  for (std::int64_t T : lengths) {
    const Tensor x = rand({T, kBatch, 2});
    rows.push_back(measure(
        fmt::format("RNN H={}, batch {}, T = {}", kHidden, kBatch, T),
        [&] {
          const Tensor out = std::get<0>(rnn(x));
          return mse_loss(head(select(out, 0, T - 1)), target);
        },
        budget));
  }
  {
    const std::int64_t T = lengths.back();
    const Tensor x = rand({T, kBatch, 2});
    rows.push_back(measure(
        fmt::format("LSTM H={}, batch {}, T = {}", kHidden, kBatch, T),
        [&] {
          const Tensor out = std::get<0>(lstm(x));
          return mse_loss(head(select(out, 0, T - 1)), target);
        },
        budget));
  }

  fmt::print("\n  {:<32} {:>9} {:>9} {:>8} {:>12} {:>10} | {:>6} {:>10} {:>10}\n", "model", "fwd (ms)", "bwd (ms)",
             "bwd/fwd", "fwd no tape", "bwd FTZ", "nodes", "arena", "held");
  for (const auto& r : rows)
    fmt::print("  {:<32} {:>9.4f} {:>9.4f} {:>8.2f} {:>12.4f} {:>10} | {:>6} {:>10} {:>10}\n", r.model, r.fwd_ms,
               r.bwd_ms, r.bwd_ms / r.fwd_ms, r.nograd_ms,
               r.bwd_ftz_ms < 0 ? std::string("n/a") : fmt::format("{:.4f}", r.bwd_ftz_ms), r.nodes,
               human_bytes(static_cast<double>(r.arena)), human_bytes(r.heap));
  const Cost* first_rnn = nullptr;
  const Cost* last_rnn = nullptr;
  for (const auto& r : rows)
    if (r.model.rfind("RNN", 0) == 0) {
      if (!first_rnn) first_rnn = &r;
      last_rnn = &r;
    }
  say("The MLP's backward pass costs about one to two forward passes (each matmul's VJP is two matmuls); "
      "recording the tape costs little next to the arithmetic ('fwd no tape').");
  if (first_rnn && last_rnn && first_rnn != last_rnn)
    say(
        fmt::format("For the RNN, going from T = {} to T = {} multiplies the tape's nodes by {:.1f} and the "
                    "memory held for backward by {:.1f}: BPTT keeps every step's state until the backward "
                    "pass reaches it, so memory grows linearly with the length. The backward time grows by "
                    "x{:.1f} (x{:.1f} with flush-to-zero), and the steps cannot run in parallel: step t needs "
                    "the gradient of step t + 1.",
                    lengths.front(), lengths.back(),
                    static_cast<double>(last_rnn->nodes) / static_cast<double>(first_rnn->nodes),
                    last_rnn->heap / first_rnn->heap, last_rnn->bwd_ms / first_rnn->bwd_ms,
                    last_rnn->bwd_ftz_ms > 0 ? last_rnn->bwd_ftz_ms / first_rnn->bwd_ftz_ms
                                             : last_rnn->bwd_ms / first_rnn->bwd_ms));
  say("'bwd FTZ' is the backward pass again with subnormal floats flushed to zero (x86 MXCSR FTZ/DAZ, this "
      "demo only; the library does not change the FPU mode). Where it is much faster than 'bwd', the "
      "gradient flowing back through time has vanished below float32's normal range (1.2e-38) and every "
      "operation on those subnormal numbers is slow: vanishing gradients cost time as well as learning.");
  return 0;
}

}  // namespace demo
