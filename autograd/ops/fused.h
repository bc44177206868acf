#pragma once
/// @file ops/fused.h
/// Fused ops: composites of the primitive ops computed in fewer passes and allocations, kept
/// because they measure faster on the training workloads (nn::Linear, the recurrent cells,
/// cross-entropy). Each equals its composite up to rounding and is gradchecked like any op.
/// Their VJPs are ag ops (matmul_transposed, sum) around one elementwise backward op (tanh_backward,
/// threshold_backward, lstm_cell_backward, gru_cell_backward, softmax_cross_entropy_backward): its forward
/// is the fused kernel loop, and it records its own VJP, so that a double backward goes through it.

#include <tuple>

#include "autograd/tensor.h"

namespace ag {

/// x W^T + b with x [..., in], W [out, in], b [out] (or undefined): one gemm onto the broadcast bias;
///  dx = g W,  dW = g^T x,  db = sum of g over rows
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b = Tensor());

/// tanh(x W_ih^T + b_ih + h W_hh^T + b_hh), x [B, in], h [B, H], W_ih [H, in], W_hh [H, H], biases
/// [H] or undefined: two gemms into one buffer, one bias + tanh pass;
///  with a = tanh_backward(g, y): dx = a W_ih, dh = a W_hh, dW_ih = a^T x, dW_hh = a^T h, db_ih = db_hh = sum_rows a
Tensor rnn_tanh_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh,
                     const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor());
/// The same with relu;  a = threshold_backward(g, y, 0)
Tensor rnn_relu_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh,
                     const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor());

/// The same with the input projection done beforehand (one gemm for every time step, as libtorch's
/// RNN layers): act(xg + h W_hh^T + b_hh), xg [B, H] holding x W_ih^T + b_ih;  dxg = a, the rest as above
Tensor rnn_tanh_cell_gates(const Tensor& xg, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh = Tensor());
Tensor rnn_relu_cell_gates(const Tensor& xg, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh = Tensor());

/// LSTM cell (as PyTorch's fused cell): gates = x W_ih^T + b_ih + h W_hh^T + b_hh [B, 4H] in the order
/// (i, f, g, o) -> (h', c') with c' = s(f) c + s(i) tanh(g), h' = s(o) tanh(c'); W_ih [4H, in],
/// W_hh [4H, H], biases [4H] or undefined;  d(gates) and dc from lstm_cell_backward, and x, h, weights
/// and biases from d(gates) as in rnn_tanh_cell
std::tuple<Tensor, Tensor> fused_lstm_cell(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih,
                                           const Tensor& w_hh, const Tensor& b_ih = Tensor(),
                                           const Tensor& b_hh = Tensor());
/// The same from precomputed input gates xg [B, 4H] = x W_ih^T + b_ih: gates = xg + h W_hh^T + b_hh;
///  dxg = d(gates), the rest as above
std::tuple<Tensor, Tensor> fused_lstm_cell_gates(const Tensor& xg, const Tensor& h, const Tensor& c, const Tensor& w_hh,
                                                 const Tensor& b_hh = Tensor());

/// GRU cell (PyTorch's formula and gate order r, z, n): with xg = x W_ih^T + b_ih and gh = h W_hh^T + b_hh
/// [B, 3H], r = s(xg_r + gh_r), z = s(xg_z + gh_z), n = tanh(xg_n + r gh_n), h' = (1 - z) n + z h;
///  dxg, dgh and dh0 from gru_cell_backward, dh = dh0 + dgh W_hh, and x, weights and biases from dxg, dgh
///  as in rnn_tanh_cell
Tensor fused_gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh,
                      const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor());
/// The same from precomputed input gates xg [B, 3H] = x W_ih^T + b_ih;  dxg as above
Tensor fused_gru_cell_gates(const Tensor& xg, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh = Tensor());

/// Per-row cross-entropy on logits z [N, C] with int64 class indices t [N] in [0, C):
/// loss[n] = -log_softmax(z)[n, t[n]] in one pass (no [N, C] log-probabilities);
///  dz = softmax_cross_entropy_backward(g, z, t)
Tensor softmax_cross_entropy(const Tensor& z, const Tensor& target);

// Backward ops of the cells and of the loss: each holds its derivative's one copy (its forward runs the
// kernel loop of kernels/fused.h) and records its own VJP (the second derivative, written with ops).
// Arguments are floating tensors of one dtype (target: int64); misuse throws ag::Error naming the op.

/// The gradients of the LSTM gates' pre-activations and of c from those of h' and c' (all [B, H]),
/// the activated gates [B, 4H] (i, f, g, o = s(.), s(.), tanh(.), s(.)), c and tanh(c'):
///  dc* = dc' + dh' o (1 - tanh^2 c'),  d(gates) = (dc* g i(1-i), dc* c f(1-f), dc* i (1-g^2),
///  dh' tanh(c') o(1-o)),  dc = dc* f
std::tuple<Tensor, Tensor> lstm_cell_backward(const Tensor& grad_h, const Tensor& grad_c, const Tensor& gates,
                                              const Tensor& c, const Tensor& tanh_c_new);
/// The gradients (dxg, dgh [B, 3H], dh0 [B, H]) of the GRU's input gates, hidden gates h W_hh^T + b_hh
/// and of h directly, from that of h' [B, H], gates [B, 4H] = (r, z, n, hn = (h W_hh^T + b_hh)_n) and h:
///  with a_n = dh' (1 - z)(1 - n^2): dxg = (a_n hn r(1-r), dh' (h - n) z(1-z), a_n),
///  dgh = (the same, but a_n r for n),  dh0 = dh' z
std::tuple<Tensor, Tensor, Tensor> gru_cell_backward(const Tensor& grad_h, const Tensor& gates, const Tensor& h);
/// The gradient of softmax_cross_entropy's logits from that of its loss grad [N], logits [N, C] and
/// target int64 [N]:  dz = (softmax(z) - onehot(t)) grad[:, None]
Tensor softmax_cross_entropy_backward(const Tensor& grad, const Tensor& logits, const Tensor& target);

}  // namespace ag
