#pragma once
/// @file rnn_cell.h
/// Recurrent cells with PyTorch's parameter names, layouts and gate order, so weights copied from
/// PyTorch give the same outputs. Each is a thin module over a functional step that calls the fused
/// cell op of autograd/ops/fused.h (one tape node, whose VJP is derived in autograd/ops/fused.cpp);
/// the fused ops are tested against nn::reference (nn/reference_cells.h), the same cells written
/// with plain ops.

#include <tuple>

#include "nn/module.h"

namespace ag::nn {

enum class Nonlinearity { Tanh, ReLU };

namespace functional {
/// h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh); biases may be undefined.
Tensor rnn_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh, Nonlinearity nonlinearity = Nonlinearity::Tanh);
/// gates = x W_ih^T + b_ih + h W_hh^T + b_hh, chunked (i, f, g, o); c' = f c + i g; h' = o tanh(c').
std::tuple<Tensor, Tensor> lstm_cell(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih,
                                     const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh);
/// (r, z, n): r = s(Wir x + bir + Whr h + bhr), z likewise, n = tanh(Win x + bin + r (Whn h + bhn)),
/// h' = (1 - z) n + z h.
Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh);
}  // namespace functional

/// Options shared by the cells: `RNNCellOptions(in, hidden).bias(false).nonlinearity(Nonlinearity::ReLU)`.
struct RNNCellOptions {
  RNNCellOptions(std::int64_t input_size, std::int64_t hidden_size)
      : input_size_(input_size), hidden_size_(hidden_size) {}
  RNNCellOptions& bias(bool v) {
    bias_ = v;
    return *this;
  }
  RNNCellOptions& nonlinearity(Nonlinearity v) {
    nl_ = v;
    return *this;
  }
  RNNCellOptions& dtype(Dtype d) {
    dtype_ = d;
    return *this;
  }
  std::int64_t input_size() const { return input_size_; }
  std::int64_t hidden_size() const { return hidden_size_; }
  bool bias() const { return bias_; }
  Nonlinearity nonlinearity() const { return nl_; }
  Dtype dtype() const { return dtype_; }

 private:
  std::int64_t input_size_, hidden_size_;
  bool bias_ = true;
  Nonlinearity nl_ = Nonlinearity::Tanh;
  Dtype dtype_ = kFloat32;
};
using LSTMCellOptions = RNNCellOptions;
using GRUCellOptions = RNNCellOptions;

/// Parameters weight_ih [G*H, in], weight_hh [G*H, H], bias_ih, bias_hh [G*H] with G gates,
/// initialised U(-1/sqrt(H), 1/sqrt(H)) as libtorch.
class RNNCellBase : public Module {
 public:
  RNNCellBase(const RNNCellOptions& options, std::int64_t gates, const char* name);
  void reset_parameters();
  RNNCellOptions options;
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;

 protected:
  /// h if given, else zeros [B, H]; checks x is [B, in] (or [in]) and h's shape (`what` names it).
  Tensor initial(const Tensor& x, const Tensor& h, const char* what = "hidden state") const;
};

class RNNCellImpl : public RNNCellBase {
 public:
  RNNCellImpl(std::int64_t input_size, std::int64_t hidden_size)
      : RNNCellImpl(RNNCellOptions(input_size, hidden_size)) {}
  explicit RNNCellImpl(const RNNCellOptions& o) : RNNCellBase(o, 1, "RNNCell") {}
  /// x [B, in], h [B, H] (zeros if undefined) -> h' [B, H]
  Tensor forward(const Tensor& x, const Tensor& h = Tensor()) const;
};

class LSTMCellImpl : public RNNCellBase {
 public:
  LSTMCellImpl(std::int64_t input_size, std::int64_t hidden_size)
      : LSTMCellImpl(RNNCellOptions(input_size, hidden_size)) {}
  explicit LSTMCellImpl(const RNNCellOptions& o) : RNNCellBase(o, 4, "LSTMCell") {}
  /// x [B, in], state (h, c) (zeros if undefined) -> (h', c')
  std::tuple<Tensor, Tensor> forward(const Tensor& x, const std::tuple<Tensor, Tensor>& state = {}) const;
};

class GRUCellImpl : public RNNCellBase {
 public:
  GRUCellImpl(std::int64_t input_size, std::int64_t hidden_size)
      : GRUCellImpl(RNNCellOptions(input_size, hidden_size)) {}
  explicit GRUCellImpl(const RNNCellOptions& o) : RNNCellBase(o, 3, "GRUCell") {}
  Tensor forward(const Tensor& x, const Tensor& h = Tensor()) const;
};

class RNNCell : public ModuleHolder<RNNCellImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};
class LSTMCell : public ModuleHolder<LSTMCellImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};
class GRUCell : public ModuleHolder<GRUCellImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};

}  // namespace ag::nn
