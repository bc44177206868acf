#pragma once
/// @file ops/fused.h
/// Fused ops: composites of the primitive ops computed in fewer passes and allocations, kept
/// because they measure faster on the training workloads (nn::Linear, the recurrent cells,
/// cross-entropy). Each equals its composite up to rounding and is gradchecked like any op.
/// Their VJPs are ag ops (matmul_transposed, sum) around one elementwise backward pass: a kernel in a plain
/// backward, the same closed form with differentiable ops under create_graph (so double backward works).

#include <tuple>

#include "autograd/tensor.h"

namespace ag {

/// x W^T + b with x [..., in], W [out, in], b [out] (or undefined): one gemm onto the broadcast bias;
///  dx = g W,  dW = g^T x,  db = sum of g over rows
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b = Tensor());

/// tanh(x W_ih^T + b_ih + h W_hh^T + b_hh), x [B, in], h [B, H], W_ih [H, in], W_hh [H, H], biases
/// [H] or undefined: two gemms into one buffer, one bias + tanh pass;
///  with a = g (1 - y^2): dx = a W_ih, dh = a W_hh, dW_ih = a^T x, dW_hh = a^T h, db_ih = db_hh = sum_rows a
Tensor rnn_tanh_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh,
                     const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor());
/// The same with relu;  a = g [y > 0]
Tensor rnn_relu_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh,
                     const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor());

/// The same with the input projection done beforehand (one gemm for every time step, as libtorch's
/// RNN layers): act(xg + h W_hh^T + b_hh), xg [B, H] holding x W_ih^T + b_ih;  dxg = a, the rest as above
Tensor rnn_tanh_cell_gates(const Tensor& xg, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh = Tensor());
Tensor rnn_relu_cell_gates(const Tensor& xg, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh = Tensor());

/// LSTM cell (as PyTorch's fused cell): gates = x W_ih^T + b_ih + h W_hh^T + b_hh [B, 4H] in the order
/// (i, f, g, o) -> (h', c') with c' = s(f) c + s(i) tanh(g), h' = s(o) tanh(c'); W_ih [4H, in],
/// W_hh [4H, H], biases [4H] or undefined;  with dc* = dc' + dh' s(o) (1 - tanh^2 c'):
///  d(i, f, g, o) = (dc* tanh(g) s'(i), dc* c s'(f), dc* s(i) tanh'(g), dh' tanh(c') s'(o)),
///  dc = dc* s(f), and x, h, weights and biases from d(gates) as in rnn_tanh_cell
std::tuple<Tensor, Tensor> fused_lstm_cell(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih,
                                           const Tensor& w_hh, const Tensor& b_ih = Tensor(),
                                           const Tensor& b_hh = Tensor());
/// The same from precomputed input gates xg [B, 4H] = x W_ih^T + b_ih: gates = xg + h W_hh^T + b_hh;
///  dxg = d(gates), the rest as above
std::tuple<Tensor, Tensor> fused_lstm_cell_gates(const Tensor& xg, const Tensor& h, const Tensor& c,
                                                 const Tensor& w_hh, const Tensor& b_hh = Tensor());

/// GRU cell (PyTorch's formula and gate order r, z, n): with xg = x W_ih^T + b_ih and gh = h W_hh^T + b_hh
/// [B, 3H], r = s(xg_r + gh_r), z = s(xg_z + gh_z), n = tanh(xg_n + r gh_n), h' = (1 - z) n + z h;
///  with a_n = dh' (1 - z)(1 - n^2): dxg = (a_n gh_n s'(r), dh' (h - n) s'(z), a_n), dgh = (the same, but a_n r
///  for n), dh = dh' z + dgh W_hh, and x, weights and biases from dxg, dgh as in rnn_tanh_cell
Tensor fused_gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh,
                      const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor());
/// The same from precomputed input gates xg [B, 3H] = x W_ih^T + b_ih;  dxg as above
Tensor fused_gru_cell_gates(const Tensor& xg, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh = Tensor());

/// Per-row cross-entropy on logits z [N, C] with int64 class indices t [N] in [0, C):
/// loss[n] = -log_softmax(z)[n, t[n]] in one pass (no [N, C] log-probabilities);
///  dz = (softmax(z) - onehot(t)) g[:, None]
Tensor softmax_cross_entropy(const Tensor& z, const Tensor& target);

}  // namespace ag
