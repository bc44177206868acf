#include "nn/rnn_cell.h"

#include <cmath>

#include "nn/init.h"

namespace ag::nn {

namespace functional {

namespace {
// x W^T (+ b), x [B, in] or [in].
Tensor affine(const Tensor& x, const Tensor& w, const Tensor& b) {
  Tensor y = x.dim() == 1 ? squeeze(matmul_ex(unsqueeze(x, 0), w, false, true), 0) : matmul_ex(x, w, false, true);
  return b.defined() ? y + b : y;
}
Tensor chunk(const Tensor& t, std::int64_t i, std::int64_t n) {
  const auto h = t.size(-1) / n;
  return narrow(t, -1, i * h, h);
}
}  // namespace

Tensor rnn_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh, Nonlinearity nl) {
  const Tensor pre = affine(x, w_ih, b_ih) + affine(h, w_hh, b_hh);
  return nl == Nonlinearity::Tanh ? tanh(pre) : relu(pre);
}

std::tuple<Tensor, Tensor> lstm_cell(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih,
                                     const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
  const Tensor gates = affine(x, w_ih, b_ih) + affine(h, w_hh, b_hh);
  const Tensor i = sigmoid(chunk(gates, 0, 4));
  const Tensor f = sigmoid(chunk(gates, 1, 4));
  const Tensor g = tanh(chunk(gates, 2, 4));
  const Tensor o = sigmoid(chunk(gates, 3, 4));
  Tensor c2 = f * c + i * g;
  Tensor h2 = o * tanh(c2);
  return {h2, c2};
}

Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh) {
  const Tensor gi = affine(x, w_ih, b_ih);
  const Tensor gh = affine(h, w_hh, b_hh);
  const Tensor r = sigmoid(chunk(gi, 0, 3) + chunk(gh, 0, 3));
  const Tensor z = sigmoid(chunk(gi, 1, 3) + chunk(gh, 1, 3));
  const Tensor n = tanh(chunk(gi, 2, 3) + r * chunk(gh, 2, 3));
  return (1.0 - z) * n + z * h;
}

}  // namespace functional

RNNCellBase::RNNCellBase(const RNNCellOptions& o, std::int64_t gates, const char* name) : Module(name), options(o) {
  if (o.input_size() <= 0 || o.hidden_size() <= 0)
    fail("{}: input_size and hidden_size must be positive, got {} and {}", name, o.input_size(), o.hidden_size());
  const auto g = gates * o.hidden_size();
  weight_ih = register_parameter("weight_ih", empty({g, o.input_size()}, o.dtype()));
  weight_hh = register_parameter("weight_hh", empty({g, o.hidden_size()}, o.dtype()));
  if (o.bias()) {
    bias_ih = register_parameter("bias_ih", empty({g}, o.dtype()));
    bias_hh = register_parameter("bias_hh", empty({g}, o.dtype()));
  }
  reset_parameters();
}

void RNNCellBase::reset_parameters() {
  const double k = 1.0 / std::sqrt(static_cast<double>(options.hidden_size()));
  for (auto& p : parameters(false)) init::uniform_(p, -k, k);
}

Tensor RNNCellBase::initial(const Tensor& x, const Tensor& h, const char* what) const {
  if ((x.dim() != 1 && x.dim() != 2) || x.size(-1) != options.input_size())
    fail("{}: expected input [B, {}] or [{}], got {}", name(), options.input_size(), options.input_size(), describe(x));
  Shape hs = x.dim() == 2 ? Shape{x.size(0), options.hidden_size()} : Shape{options.hidden_size()};
  if (!h.defined()) return zeros(hs, x.dtype());
  if (h.shape() != hs) fail("{}: expected {} {}, got {}", name(), what, shape_str(hs), describe(h));
  return h;
}

Tensor RNNCellImpl::forward(const Tensor& x, const Tensor& h) const {
  return functional::rnn_cell(x, initial(x, h), weight_ih, weight_hh, bias_ih, bias_hh, options.nonlinearity());
}

std::tuple<Tensor, Tensor> LSTMCellImpl::forward(const Tensor& x, const std::tuple<Tensor, Tensor>& state) const {
  const Tensor h = initial(x, std::get<0>(state));
  const Tensor c = initial(x, std::get<1>(state), "cell state");
  return functional::lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh);
}

Tensor GRUCellImpl::forward(const Tensor& x, const Tensor& h) const {
  return functional::gru_cell(x, initial(x, h), weight_ih, weight_hh, bias_ih, bias_hh);
}

}  // namespace ag::nn
