#pragma once
/// @file reference_cells.h
/// Reference cells: the affine layer and the RNN, LSTM and GRU cells written with plain tape ops
/// (matmul, add, narrow, sigmoid, tanh, relu, mul, sub), line by line as the equations of the
/// PyTorch documentation, with PyTorch's parameter layouts and gate orders. Their gradients are
/// whatever backward through those ops gives: nothing is derived by hand. The fused ops used by
/// nn::Linear, the cells and the recurrent layers (autograd/ops/fused.h) are tested against them.
///
/// Shapes: x [B, in] or [in], h and c [B, H] or [H]; W_ih [G*H, in], W_hh [G*H, H], b_ih and b_hh
/// [G*H] or undefined (no bias), with G = 1 (RNN), 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n) gates.

#include <tuple>

#include "nn/rnn_cell.h"

namespace ag::nn::reference {

/// The affine map of a feed-forward layer: y = x W^T + b, x [..., in], W [out, in], b [out] or
/// undefined (y = x W^T).
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b = Tensor());

/// Elman RNN cell: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (relu instead of tanh with
/// Nonlinearity::ReLU).
Tensor rnn_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih = Tensor(),
                const Tensor& b_hh = Tensor(), Nonlinearity nonlinearity = Nonlinearity::Tanh);

/// LSTM cell -> (h', c'):
///   gates = x W_ih^T + b_ih + h W_hh^T + b_hh,  chunked along the last dim into (i, f, g, o):
///   i = sigmoid(gates_i)    input gate
///   f = sigmoid(gates_f)    forget gate
///   g = tanh(gates_g)       cell candidate
///   o = sigmoid(gates_o)    output gate
///   c' = f * c + i * g
///   h' = o * tanh(c')
std::tuple<Tensor, Tensor> lstm_cell(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih,
                                     const Tensor& w_hh, const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor());

/// GRU cell, with W_ih = (W_ir, W_iz, W_in), W_hh = (W_hr, W_hz, W_hn) and the biases likewise:
///   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)          reset gate
///   z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)          update gate
///   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))       new gate
///   h' = (1 - z) * n + z * h
Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih = Tensor(),
                const Tensor& b_hh = Tensor());

}  // namespace ag::nn::reference
