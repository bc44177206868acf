#pragma once
/// @file workloads.h
/// The benchmark workloads, written once: ag_bench (bench_nn.cpp) times them with Google
/// Benchmark and ag_compare (compare.cpp) runs the same specs in libtorch. Every workload is a model
/// built from ag::nn modules, fixed data drawn after ag::manual_seed(kSeed), a loss and optim::SGD;
/// workloads 3-7 also come in a raw-op form (Spec::raw, name `<name>_raw`, label "(3r)" ...).
///
///  1 xor         the seed's 2-4-1 sigmoid net (Linear, Sigmoid, Linear, Sigmoid), batch 4, MSE, SGD lr 0.1
///  2 chain       y = x, then 10,000 ops alternating y = y + a and y = y * b on 0-d float64 leaves
///                x, a, b; the "loss" is y; SGD lr 1e-12 on x, a, b (so the values do not drift)
///  3 mlp_small   MLP 64-128-128-10, ReLU, batch 32, cross-entropy on class indices, SGD lr 0.01
///  4 mlp_mnist   MLP 784-256-256-10, batch 64, as 3
///  5 mlp_large   MLP 1024-1024-1024-10, batch 256, as 3
///  6 rnn         Elman tanh RNN(32, 128), T 50, batch 16; Linear(128, 1) head on the last step's
///                output, MSE against a fixed [16, 1] target, SGD lr 0.01
///  7 rnn_tiny    the same with input 8, hidden 32, T 100, batch 1
///  8 lstm        LSTM(32, 128), T 50, batch 16, head and loss as 6
///  9 rnn_T<T>    the RNN of 6 at T = 25, 50, 100, 200, 400 (time and tape memory linear in T)
/// 10 lenet       LeNet-5 size: Conv2d(1, 6, 5) ReLU MaxPool2d(2) Conv2d(6, 16, 5) ReLU MaxPool2d(2), flatten,
///                Linear(256, 120) ReLU Linear(120, 84) ReLU Linear(84, 10); input [64, 1, 28, 28],
///                cross-entropy on class indices, SGD lr 0.01
/// 11 lm          word-level language model: Embedding(10000, 128), LSTM(128, 256), Linear(256, 10000)
///                over all T 35 x B 20 positions, cross-entropy against fixed next tokens, SGD lr 0.1
///
/// Raw-op forms 3r-7r (mlp_small_raw, mlp_mnist_raw, mlp_large_raw, rnn_raw, rnn_tiny_raw): the same shapes,
/// initial weights, data, loss and SGD as 3-7, but the model written by hand with plain ops on leaf tensors,
/// as the README's first program writes it (in libtorch with torch:: ops, no torch::nn): MLP
/// `h = relu(matmul(h, W.t()) + b)` per layer (no ReLU after the last); RNN, from h = zeros({B, H}), per
/// step `h = tanh(matmul(x_t, W_ih.t()) + b_ih + matmul(h, W_hh.t()) + b_hh)` in an explicit loop, then
/// the head `matmul(h, W.t()) + b` on the last h. A user who writes ops by hand meets the same targets.
///
/// FLOPs (MLPs only): forward F = 2 B sum_l(in_l out_l) (the GEMMs; bias, activation and loss are
/// not counted); backward 2F - 2 B in_0 out_0 (dW and dX of every layer, except dX of the first
/// layer, which no one needs: the input does not require grad); a step is forward + backward.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nn/nn.h"

namespace agbench {

inline constexpr std::uint64_t kSeed = 20240607;

enum class Kind { Xor, Chain, Mlp, Rnn, Lstm, Conv, Lm };

/// The shape of one workload; both engines build their model from it.
struct Spec {
  std::string name;
  std::string label;  ///< one line for tables, e.g. "(5) MLP 1024-1024-1024-10, B 256"
  Kind kind = Kind::Mlp;
  std::vector<std::int64_t> sizes;  ///< Xor, Mlp: layer sizes
  std::int64_t batch = 1;
  std::int64_t input = 0, hidden = 0, steps = 0;  ///< Rnn, Lstm, Lm: input, hidden, T; Chain: steps = ops
  std::int64_t vocab = 0;                         ///< Lm: vocabulary (embedding rows, head outputs)
  double lr = 0.01;
  double target = 0;                  ///< the workload's target for ours/libtorch of the training step (0: none)
  std::int64_t checkpoint_every = 0;  ///< Rnn, Lstm: RNNOptions::checkpoint_every (ours only)
  bool raw = false;                   ///< Mlp, Rnn: the model written with plain ops (3r-7r above)

  /// Samples per step (B, or B T for recurrent nets, or the ops of the chain): items_per_second.
  std::int64_t items() const;
  /// Forward and backward FLOPs as documented above; 0 where not defined (non-MLPs).
  double forward_flops() const;
  double backward_flops() const;
};

/// Workloads 1-8 in order, each of 3-7 followed by its raw-op form (3r-7r), then 10 (lenet) and 11 (lm).
std::vector<Spec> main_specs();
/// Workload 9: the RNN of 6 at T = 25, 50, 100, 200, 400.
std::vector<Spec> rnn_length_specs();

/// One workload in ag: model, data and optimizer, built from `spec` after ag::manual_seed(kSeed).
class Workload {
 public:
  explicit Workload(const Spec& spec);
  /// The loss, recorded on the tape.
  ag::Tensor forward() const { return loss_fn_(); }
  /// The loss under NoGradGuard (nothing recorded).
  ag::Tensor forward_nograd() const;
  /// zero_grad, forward, backward, SGD step; returns the loss.
  double step();
  void zero_grad() { opt_->zero_grad(); }
  /// Parameters in libtorch's order for the same model (Linear, Conv2d: weight, bias; RNN: weight_ih_l0,
  /// weight_hh_l0, bias_ih_l0, bias_hh_l0, then the head's weight and bias; lm: the embedding's
  /// weight first; chain: x, a, b).
  const std::vector<ag::Tensor>& parameters() const { return params_; }
  /// The fixed data: input and target (labels for cross-entropy). Undefined for the chain.
  const ag::Tensor& input() const { return x_; }
  const ag::Tensor& target() const { return y_; }
  const Spec& spec() const { return spec_; }

 private:
  Spec spec_;
  std::vector<ag::Tensor> params_;
  ag::Tensor x_, y_;
  std::function<ag::Tensor()> loss_fn_;
  std::unique_ptr<ag::optim::SGD> opt_;
};

/// Heap bytes in use (glibc mallinfo2: uordblks + hblkhd), process-wide.
std::size_t heap_in_use();

/// Heap bytes allocated by `forward()` and still held while its result is alive (the memory the
/// graph keeps for backward), as examples/demo/cost.cpp: ag's cached blocks are released first and
/// those cached again during the call are subtracted. Works for libtorch too (its CPU allocator
/// uses glibc). `forward` returns the result to keep alive; `inspect(result)` runs before it dies.
template <class F, class Inspect>
double heap_held_by(F&& forward, Inspect&& inspect) {
  ag::pool_release_cached();
  const std::size_t before = heap_in_use();
  auto result = forward();
  const std::size_t after = heap_in_use();
  inspect(result);
  return static_cast<double>(after) - static_cast<double>(before) - static_cast<double>(ag::pool_stats().cached_bytes);
}

/// What our tape holds after one forward pass of `w`.
struct TapeMemory {
  double heap_bytes = 0;        ///< heap_held_by(forward): saved tensors, results, node blocks
  std::size_t arena_bytes = 0;  ///< Tape::arena_bytes(): nodes and edges (the arena is reused)
  std::size_t nodes = 0;        ///< Tape::num_nodes()
  /// What backward needs in all: heap plus arena (the arena's blocks are kept from earlier steps,
  /// so they are not in heap_bytes).
  double total() const { return heap_bytes + static_cast<double>(arena_bytes); }
};
TapeMemory measure_tape_memory(const Workload& w);

/// "1.2 MiB"
std::string human_bytes(double bytes);

}  // namespace agbench
