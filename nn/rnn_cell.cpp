#include "nn/rnn_cell.h"

#include <cmath>

#include "autograd/ops/fused.h"
#include "nn/init.h"

namespace ag::nn {

namespace functional {

namespace {
// A 1-D (unbatched) state as a batch of one row, for the fused cells (which take [B, n]).
Tensor batched(const Tensor& t) { return t.dim() == 1 ? unsqueeze(t, 0) : t; }
Tensor unbatched(const Tensor& t, const Tensor& like) { return like.dim() == 1 ? squeeze(t, 0) : t; }
}  // namespace

Tensor rnn_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh, Nonlinearity nl) {
  const Tensor y = nl == Nonlinearity::Tanh ? rnn_tanh_cell(batched(x), batched(h), w_ih, w_hh, b_ih, b_hh)
                                            : rnn_relu_cell(batched(x), batched(h), w_ih, w_hh, b_ih, b_hh);
  return unbatched(y, x);
}

std::tuple<Tensor, Tensor> lstm_cell(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih,
                                     const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
  auto [h2, c2] = fused_lstm_cell(batched(x), batched(h), batched(c), w_ih, w_hh, b_ih, b_hh);
  return {unbatched(h2, x), unbatched(c2, x)};
}

Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh) {
  return unbatched(fused_gru_cell(batched(x), batched(h), w_ih, w_hh, b_ih, b_hh), x);
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
