#include "nn/reference_cells.h"

namespace ag::nn::reference {

namespace {

// The hidden size H of state h ([B, H] or [H]), after checking that the weights hold `gates` blocks of H
// rows (a wrong H would otherwise slice the gates silently wrong).
std::int64_t hidden_size(const char* cell, std::int64_t gates, const Tensor& h, const Tensor& w_ih,
                         const Tensor& w_hh) {
  h.checked(cell);
  w_ih.checked(cell);
  w_hh.checked(cell);
  if (h.dim() != 1 && h.dim() != 2) fail("{}: expects hidden state [B, H] or [H], got {}", cell, describe(h));
  const auto H = h.size(-1);
  if (w_ih.dim() != 2 || w_ih.size(0) != gates * H)
    fail("{}: weight_ih must be [{}, in] ({} gates of hidden size {}), got {}", cell, gates * H, gates, H,
         describe(w_ih));
  if (w_hh.dim() != 2 || w_hh.size(0) != gates * H || w_hh.size(1) != H)
    fail("{}: weight_hh must be [{}, {}], got {}", cell, gates * H, H, describe(w_hh));
  return H;
}

// The k-th block of H columns of gates [..., G*H].
Tensor gate(const Tensor& gates, std::int64_t k, std::int64_t H) { return narrow(gates, -1, k * H, H); }

}  // namespace

// The cells call reference::linear by its qualified name: unqualified, argument-dependent lookup would
// also find ag::linear (the fused op) and the call would be ambiguous.

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  const Tensor xw = matmul(x, t(w));
  return b.defined() ? xw + b : xw;
}

Tensor rnn_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh, Nonlinearity nonlinearity) {
  hidden_size("reference::rnn_cell", 1, h, w_ih, w_hh);
  const Tensor pre_activation = reference::linear(x, w_ih, b_ih) + reference::linear(h, w_hh, b_hh);
  const Tensor h_next = nonlinearity == Nonlinearity::Tanh ? tanh(pre_activation) : relu(pre_activation);
  return h_next;
}

std::tuple<Tensor, Tensor> lstm_cell(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih,
                                     const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
  const auto H = hidden_size("reference::lstm_cell", 4, h, w_ih, w_hh);
  const Tensor gates = reference::linear(x, w_ih, b_ih) + reference::linear(h, w_hh, b_hh);
  const Tensor i = sigmoid(gate(gates, 0, H));
  const Tensor f = sigmoid(gate(gates, 1, H));
  const Tensor g = tanh(gate(gates, 2, H));
  const Tensor o = sigmoid(gate(gates, 3, H));
  const Tensor c_next = f * c + i * g;
  const Tensor h_next = o * tanh(c_next);
  return {h_next, c_next};
}

Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh) {
  const auto H = hidden_size("reference::gru_cell", 3, h, w_ih, w_hh);
  // x W_ih^T + b_ih = (W_ir x + b_ir, W_iz x + b_iz, W_in x + b_in), and h W_hh^T + b_hh likewise
  const Tensor x_gates = reference::linear(x, w_ih, b_ih), h_gates = reference::linear(h, w_hh, b_hh);
  const Tensor x_r = gate(x_gates, 0, H), x_z = gate(x_gates, 1, H), x_n = gate(x_gates, 2, H);
  const Tensor h_r = gate(h_gates, 0, H), h_z = gate(h_gates, 1, H), h_n = gate(h_gates, 2, H);
  const Tensor r = sigmoid(x_r + h_r);
  const Tensor z = sigmoid(x_z + h_z);
  const Tensor n = tanh(x_n + r * h_n);
  const Tensor h_next = (1.0 - z) * n + z * h;
  return h_next;
}

}  // namespace ag::nn::reference
