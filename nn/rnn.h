#pragma once
/// @file rnn.h
/// Multi-layer RNN, LSTM and GRU over a sequence [T, B, F] ([B, T, F] with batch_first), with
/// PyTorch's parameter names (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ...). Each layer
/// projects the inputs of all steps with one gemm (as libtorch), then runs the cell's step on them in
/// an explicit loop over time; BPTT is backward() through the unrolled tape.
/// With checkpoint_every(k) the loop runs in segments of k steps through ag::checkpoint: the tape
/// keeps the state at segment boundaries only, and backward re-runs each segment (same gradients).

#include <tuple>

#include "nn/bptt.h"
#include "nn/rnn_cell.h"

namespace ag::nn {

/// checkpoint_every(kCheckpointAuto): segments of round(sqrt(T)) steps.
inline constexpr std::int64_t kCheckpointAuto = -1;

/// `RNNOptions(in, hidden).num_layers(2).batch_first(true)`
struct RNNOptions {
  RNNOptions(std::int64_t input_size, std::int64_t hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {}
  RNNOptions& num_layers(std::int64_t v) {
    num_layers_ = v;
    return *this;
  }
  RNNOptions& nonlinearity(Nonlinearity v) {
    nl_ = v;
    return *this;
  }
  RNNOptions& bias(bool v) {
    bias_ = v;
    return *this;
  }
  RNNOptions& batch_first(bool v) {
    batch_first_ = v;
    return *this;
  }
  /// Dropout on the outputs of every layer but the last, in training mode.
  RNNOptions& dropout(double v) {
    dropout_ = v;
    return *this;
  }
  RNNOptions& dtype(Dtype d) {
    dtype_ = d;
    return *this;
  }
  /// Gradient checkpointing along time: 0 (default) records every step; k > 0 runs each layer's
  /// loop in segments of k steps through ag::checkpoint, so that the tape holds the state (h, or
  /// h and c) at segment boundaries and the layer's outputs, and backward re-runs one segment at a
  /// time: about T/k + k steps' worth of memory instead of T, for one more forward pass of time
  /// (less the last k steps, recorded as usual since backward would re-run them at once).
  /// kCheckpointAuto picks k = round(sqrt(T)). Without grad mode it changes nothing, nor while a
  /// HiddenGradMonitor is attached (it needs every h_t on the tape: the loop then runs plain).
  RNNOptions& checkpoint_every(std::int64_t k) {
    checkpoint_every_ = k;
    return *this;
  }
  std::int64_t input_size() const { return input_size_; }
  std::int64_t hidden_size() const { return hidden_size_; }
  std::int64_t num_layers() const { return num_layers_; }
  Nonlinearity nonlinearity() const { return nl_; }
  bool bias() const { return bias_; }
  bool batch_first() const { return batch_first_; }
  double dropout() const { return dropout_; }
  Dtype dtype() const { return dtype_; }
  std::int64_t checkpoint_every() const { return checkpoint_every_; }

 private:
  std::int64_t input_size_, hidden_size_, num_layers_ = 1, checkpoint_every_ = 0;
  Nonlinearity nl_ = Nonlinearity::Tanh;
  bool bias_ = true, batch_first_ = false;
  double dropout_ = 0.0;
  Dtype dtype_ = kFloat32;
};
using LSTMOptions = RNNOptions;
using GRUOptions = RNNOptions;

/// Holds the per-layer parameters and the sequence bookkeeping shared by RNN, LSTM and GRU.
class RNNBase : public Module {
 public:
  RNNBase(const RNNOptions& options, std::int64_t gates, const char* name);
  void reset_parameters();
  RNNOptions options;
  /// weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} of layer k (biases may be undefined).
  struct Layer {
    Tensor w_ih, w_hh, b_ih, b_hh;
  };
  std::vector<Layer> layers;
  /// When set, forward watches the last layer's h_t at every step (retain_grad), so that after
  /// backward `monitor->grad_norms()` gives ||dLoss/dh_t||. The monitor is cleared at each forward.
  HiddenGradMonitor* monitor = nullptr;

 protected:
  /// The sequence as [T, B, F], checked.
  Tensor time_major(const Tensor& input) const;
  /// Initial state [num_layers, B, H]: the given one (checked; `what` names it) or zeros.
  Tensor initial_state(const Tensor& state, std::int64_t batch, Dtype dtype, const char* what = "initial state") const;
  /// Outputs [T, B, H] back to the caller's layout.
  Tensor output_layout(const Tensor& out) const;
  void watch(const Tensor& h, std::size_t layer) const;
  /// Every layer's cell over time: step(in_t, state, layer, gates) -> state', where state[0] is h (the
  /// layer's output) and states[i] is state i's initial value for all layers, [num_layers, B, H].
  /// in_t is the step's input gates x_t W_ih^T + b_ih when `gates` (with `hoist`: computed for all
  /// steps with one gemm), else x_t; both must give the same values.
  /// Returns the output and each state's final value, [num_layers, B, H].
  template <class Step>
  std::tuple<Tensor, std::vector<Tensor>> unroll(const Tensor& x, const std::vector<Tensor>& states, bool hoist,
                                                 Step step) const;
  /// The checkpoint segment length for T steps (0: none).
  std::int64_t checkpoint_segment(std::int64_t T) const;
  void start_forward() const;
  /// Between layers: dropout when training.
  Tensor between_layers(const Tensor& x, std::size_t layer) const;
};

class RNNImpl : public RNNBase {
 public:
  RNNImpl(std::int64_t input_size, std::int64_t hidden_size) : RNNImpl(RNNOptions(input_size, hidden_size)) {}
  explicit RNNImpl(const RNNOptions& o) : RNNBase(o, 1, "RNN") {}
  /// input [T, B, F], h0 [num_layers, B, H] (zeros if undefined) -> (output [T, B, H], h_n [num_layers, B, H])
  std::tuple<Tensor, Tensor> forward(const Tensor& input, const Tensor& h0 = Tensor()) const;
};

class LSTMImpl : public RNNBase {
 public:
  LSTMImpl(std::int64_t input_size, std::int64_t hidden_size) : LSTMImpl(RNNOptions(input_size, hidden_size)) {}
  explicit LSTMImpl(const RNNOptions& o) : RNNBase(o, 4, "LSTM") {}
  /// -> (output, (h_n, c_n))
  std::tuple<Tensor, std::tuple<Tensor, Tensor>> forward(const Tensor& input,
                                                         const std::tuple<Tensor, Tensor>& state = {}) const;
};

class GRUImpl : public RNNBase {
 public:
  GRUImpl(std::int64_t input_size, std::int64_t hidden_size) : GRUImpl(RNNOptions(input_size, hidden_size)) {}
  explicit GRUImpl(const RNNOptions& o) : RNNBase(o, 3, "GRU") {}
  std::tuple<Tensor, Tensor> forward(const Tensor& input, const Tensor& h0 = Tensor()) const;
};

class RNN : public ModuleHolder<RNNImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};
class LSTM : public ModuleHolder<LSTMImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};
class GRU : public ModuleHolder<GRUImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};

}  // namespace ag::nn
