#include "autograd/ops/fused.h"

#include <algorithm>

#include "autograd/factory.h"
#include "autograd/forward_grad.h"
#include "autograd/kernels/blas.h"
#include "autograd/kernels/fused.h"
#include "autograd/ops/arith.h"
#include "autograd/ops/index.h"
#include "autograd/ops/linalg.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/ops/softmax.h"
#include "autograd/ops/unary.h"
#include "autograd/ops/util.h"
#include "autograd/tape.h"

namespace ag {

namespace {

using detail::tangent_add;
using detail::tangent_to;
using kernels::CellAct;

void check_floating(const Tensor& t, const char* op) {
  if (!is_floating(t.checked(op).dtype))
    fail("{}: expected a floating tensor (float32 or float64), got {}", op, describe(t));
}

// b is undefined or [n] of x's dtype.
void check_bias(const Tensor& b, std::int64_t n, const Tensor& x, const char* op, const char* what) {
  if (!b.defined()) return;
  detail::check_same_dtype(x, b, op);
  if (b.dim() != 1 || b.size(0) != n) fail("{}: {} must be [{}], got {}", op, what, n, describe(b));
}

// Checks every shape and dtype of a recurrent cell with `gates` gates. Without w_ih (the *_gates cells)
// x is the input gates xg [B, G*H].
void check_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh, std::int64_t gates, const char* op) {
  check_floating(x, op);
  for (const Tensor* t : {&h, &w_hh}) detail::check_same_dtype(x, *t, op);
  const bool proj = w_ih.defined();
  if (x.dim() != 2 || h.dim() != 2 || x.size(0) != h.size(0))
    fail("{}: expects {} [B, {}] and hidden state [B, H], got {} and {}", op, proj ? "input" : "input gates",
         proj ? "in" : "G*H", describe(x), describe(h));
  const auto in = x.size(1), hid = h.size(1), gh = gates * hid;
  if (proj) {
    detail::check_same_dtype(x, w_ih, op);
    if (w_ih.dim() != 2 || w_ih.size(0) != gh || w_ih.size(1) != in)
      fail("{}: weight_ih must be [{}, {}] for input {} and hidden state {}, got {}", op, gh, in, describe(x),
           describe(h), describe(w_ih));
  } else if (in != gh) {
    fail("{}: input gates must be [{}, {}] ({} gates) for hidden state {}, got {}", op, x.size(0), gh, gates,
         describe(h), describe(x));
  }
  if (w_hh.dim() != 2 || w_hh.size(0) != gh || w_hh.size(1) != hid)
    fail("{}: weight_hh must be [{}, {}] for hidden state {}, got {}", op, gh, hid, describe(h), describe(w_hh));
  check_bias(b_ih, gh, x, op, "bias_ih");
  check_bias(b_hh, gh, x, op, "bias_hh");
}

template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.cdata<T>() : nullptr;
}

// Whether w [G*H, H] is the transposed view of a row-major [H, G*H] (w_t.t() with w_t contiguous): a
// recurrent layer passes its W_hh so, transposed once per forward, and every step's h W_hh^T is then
// an A B product with no packing of B (20x1024x256: 202 against 149 GFLOP/s as A B^T, oneDNN).
bool transposed_rows(const Tensor& w) { return w.impl()->shape.size() == 2 && detail::transposed_row_major(*w.impl()); }

// y = a w^T + beta y for a [B, K] and w [N, K], w row-major or transposed_rows (then read as an A B).
template <class T>
void times_transposed(const Tensor& a, const Tensor& w, T* y, T beta) {
  if (transposed_rows(w))  // the row-major [K, N] buffer under the view
    kernels::gemm(false, false, a.size(0), w.size(0), a.size(1), a.cdata<T>(), w.impl()->data_unchecked<T>(), y, beta);
  else kernels::gemm(false, true, a.size(0), w.size(0), a.size(1), a.cdata<T>(), w.cdata<T>(), y, beta);
}

// y [B, G*H] = (b + x w^T) + h w_hh^T + b_hh in this order (b + x w^T is linear(x, w, b), x itself without
// w), so that a cell equals linear then its *_gates form bitwise; h, b, b_hh may be undefined.
template <class T>
void project(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh,
             T* y) {
  const auto batch = x.size(0), g = w_hh.size(0);
  if (w.defined()) {  // as linear() computes it
    if (b.defined()) kernels::fill_rows(y, b.cdata<T>(), batch, g);
    times_transposed<T>(x, w, y, T(b.defined() ? 1 : 0));
  } else {
    std::copy(x.cdata<T>(), x.cdata<T>() + x.numel(), y);
    kernels::add_biases(y, data_or_null<T>(b), static_cast<const T*>(nullptr), batch, g);
  }
  if (h.defined()) times_transposed<T>(h, w_hh, y, T(1));
  kernels::add_biases(y, data_or_null<T>(b_hh), static_cast<const T*>(nullptr), batch, g);
}

// pre [B, G*H] = x w_ih^T + b_ih + h w_hh^T + b_hh (xg + h w_hh^T + b_hh without w_ih), after check_cell.
Tensor cell_gates(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                  const Tensor& b_hh, std::int64_t gates, const char* op) {
  check_cell(x, h, w_ih, w_hh, b_ih, b_hh, gates, op);
  Tensor pre = empty({x.size(0), w_hh.size(0)}, x.dtype());
  dispatch_floating(x.dtype(), op, [&]<class T>() { project<T>(x, w_ih, b_ih, h, w_hh, b_hh, pre.cdata<T>()); });
  return pre;
}

// c.set(i, a^T b), a cell's weight gradient [G*H, in] from a [B, G*H] and b [B, in]; added by a product
// with beta 1 into the gradient summed so far when the engine allows it (BackwardCtx::accumulator: a
// recurrent layer's weights get one such gradient per time step, and the engine's += of each was 3.6%
// of the language model's step).
void set_weight_grad(BackwardCtx& c, std::size_t i, const Tensor& a, const Tensor& b) {
  const Shape shape{a.size(1), b.size(1)};
  Tensor* acc = c.accumulator(i, shape, a.dtype());
  if (acc && a.dtype() == b.dtype() && a.is_contiguous() && b.is_contiguous()) {
    dispatch_floating(a.dtype(), c.op_name(), [&]<class T>() {
      kernels::gemm(true, false, shape[0], shape[1], a.size(0), a.cdata<T>(), b.cdata<T>(), acc->cdata<T>(), T(1));
    });
    return;
  }
  c.set(i, matmul_transposed(a, b, true, false));
}

// The gradients of a cell's x, h, weights and biases (inputs 0, ih, iw, iw+1, iw+2, iw+3) from the
// gradients ax, ah [B, G*H] of its input and hidden gates (one tensor for both in the RNN and LSTM cells)
// and dh0, the part of h's gradient not through h w_hh^T (or undefined); without w_ih, input 0 is the
// input gates (gradient ax).
void gates_backward(BackwardCtx& c, const Tensor& ax, const Tensor& ah, const Tensor& dh0, const SavedTensor& sx,
                    const SavedTensor& sh, const SavedTensor& swi, const SavedTensor& swh, std::size_t ih,
                    std::size_t iw, const char* op) {
  if (c.needs(0)) c.set(0, swi.defined() ? matmul_transposed(ax, swi.get(op), false, false) : ax);
  if (c.needs(ih)) {
    // a transposed_rows W_hh is copied here: its buffer read as A B^T ran slower (LM step 67.4 -> 68.3 ms)
    const Tensor dh = matmul_transposed(ah, swh.get(op), false, false);
    c.set(ih, dh0.defined() ? add(dh, dh0) : dh);
  }
  if (c.needs(iw)) set_weight_grad(c, iw, ax, sx.get(op));
  if (c.needs(iw + 1)) set_weight_grad(c, iw + 1, ah, sh.get(op));
  if (c.needs(iw + 2) || c.needs(iw + 3)) {
    const Tensor dbx = sum(ax, 0);
    if (c.needs(iw + 2)) c.set(iw + 2, dbx);
    if (c.needs(iw + 3)) c.set(iw + 3, ax.impl() == ah.impl() ? dbx : sum(ah, 0));
  }
}

// For JVP rules: the tangent of x w^T + b (x + b without w) from the tangents tx, tw, tb (each may be
// undefined: an input without tangent), as a [.., G] tensor of `shape`, or zeros of it when none has one.
Tensor affine_tangent(const Tensor& x, const Tensor& tx, const Tensor& w, const Tensor& tw, const Tensor& tb,
                      const Shape& shape) {
  Tensor t;
  if (tx.defined()) t = w.defined() ? linear(tx, w) : tx;
  if (tw.defined()) t = tangent_add(t, linear(x, tw));
  t = tangent_add(t, tb);
  return t.defined() ? tangent_to(t, shape) : zeros(shape, TensorOptions().dtype(x.dtype()));
}

template <CellAct A>
Tensor rnn_cell_impl(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                     const Tensor& b_hh, const char* op) {
  Tensor pre = cell_gates(x, h, w_ih, w_hh, b_ih, b_hh, 1, op);
  Tensor y = A == CellAct::Tanh ? empty(pre.shape(), pre.dtype()) : pre;
  dispatch_floating(x.dtype(), op, [&]<class T>() {
    T* p = pre.cdata<T>();
    if constexpr (A == CellAct::Tanh) kernels::tanh(p, y.cdata<T>(), pre.numel());
    else std::for_each(p, p + pre.numel(), [](T& v) { v = v <= T(0) ? T(0) : v; });  // NaN stays, as relu
  });
  if (any_requires_grad({&x, &h, &w_ih, &w_hh, &b_ih, &b_hh}))
    record(
        op, {&x, &h, &w_ih, &w_hh, &b_ih, &b_hh}, {&y},
        [op, sx = w_ih.defined() ? SavedTensor(x) : SavedTensor(), sh = SavedTensor(h), swi = SavedTensor(w_ih),
         swh = SavedTensor(w_hh)](BackwardCtx& c) {
          const Tensor a =
              A == CellAct::Tanh ? tanh_backward(c.grad(), c.output()) : threshold_backward(c.grad(), c.output(), 0.0);
          gates_backward(c, a, a, Tensor(), sx, sh, swi, swh, 1, 2, op);
        },
        Keep::Output);
  if (any_tangent({&x, &h, &w_ih, &w_hh, &b_ih, &b_hh}))
    propagate_tangent(op, {&x, &h, &w_ih, &w_hh, &b_ih, &b_hh}, {&y}, [&](JvpCtx& c) {
      // the pre-activation's tangent through the activation's derivative at y
      const Tensor tp = affine_tangent(x, c.tangent(0), w_ih, c.tangent(2), c.tangent(4), y.shape()) +
                        affine_tangent(h, c.tangent(1), w_hh, c.tangent(3), c.tangent(5), y.shape());
      c.set(0, A == CellAct::Tanh ? tanh_backward(tp, y) : threshold_backward(tp, y, 0.0));
    });
  return y;
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  check_floating(x, "linear");
  detail::check_same_dtype(x, w, "linear");
  if (x.dim() == 0 || w.dim() != 2 || x.size(-1) != w.size(1))
    fail("linear: expects input [..., in] and weight [out, in], got {} and {}", describe(x), describe(w));
  const auto in = w.size(1), out = w.size(0), rows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  check_bias(b, out, x, "linear", "bias");
  Shape os = x.shape();
  os.back() = out;
  Tensor y = empty(os, x.dtype());
  dispatch_floating(x.dtype(), "linear", [&]<class T>() {
    if (b.defined()) kernels::fill_rows(y.cdata<T>(), b.cdata<T>(), rows, out);
    kernels::gemm(false, true, rows, out, in, x.cdata<T>(), w.cdata<T>(), y.cdata<T>(), T(b.defined() ? 1 : 0));
  });
  if (any_requires_grad({&x, &w, &b}))
    record("linear", {&x, &w, &b}, {&y}, [sx = SavedTensor(x), sw = SavedTensor(w)](BackwardCtx& c) {
      const Tensor X = sx.get("linear"), W = sw.get("linear");
      const Tensor& g = c.grad();
      const bool flat = g.dim() == 2;
      const Tensor g2 = flat ? g : reshape(g, {-1, W.size(0)});
      if (c.needs(0)) {
        const Tensor dx = matmul_transposed(g2, W, false, false);
        c.set(0, flat ? dx : reshape(dx, X.shape()));
      }
      if (c.needs(1)) c.set(1, matmul_transposed(g2, flat ? X : reshape(X, {-1, W.size(1)}), true, false));
      if (c.needs(2)) c.set(2, sum(g2, 0));
    });
  if (any_tangent({&x, &w, &b}))
    propagate_tangent("linear", {&x, &w, &b}, {&y}, [&](JvpCtx& c) {  // tx W^T + x tW^T + tb
      Tensor t = c.has(0) ? linear(c.tangent(0), w) : Tensor();
      if (c.has(1)) t = tangent_add(t, linear(x, c.tangent(1)));
      c.set(0, tangent_to(tangent_add(t, c.tangent(2)), y.shape()));
    });
  return y;
}

Tensor rnn_tanh_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                     const Tensor& b_hh) {
  return rnn_cell_impl<CellAct::Tanh>(x, h, w_ih, w_hh, b_ih, b_hh, "rnn_tanh_cell");
}

Tensor rnn_relu_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                     const Tensor& b_hh) {
  return rnn_cell_impl<CellAct::ReLU>(x, h, w_ih, w_hh, b_ih, b_hh, "rnn_relu_cell");
}

Tensor rnn_tanh_cell_gates(const Tensor& xg, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh) {
  return rnn_cell_impl<CellAct::Tanh>(xg, h, Tensor(), w_hh, Tensor(), b_hh, "rnn_tanh_cell_gates");
}

Tensor rnn_relu_cell_gates(const Tensor& xg, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh) {
  return rnn_cell_impl<CellAct::ReLU>(xg, h, Tensor(), w_hh, Tensor(), b_hh, "rnn_relu_cell_gates");
}

namespace {

// A cell's gate pre-activations x W_ih^T + b_ih + h W_hh^T + b_hh (xg + h W_hh^T + b_hh without W_ih)
// recomputed with ops from its saved inputs, for a recorded backward.
Tensor recompute_gates(const SavedTensor& sx, const SavedTensor& sh, const SavedTensor& swi, const SavedTensor& swh,
                       const SavedTensor& sbi, const SavedTensor& sbh, const char* op) {
  const Tensor xv = sx.get(op);
  Tensor pre = (swi.defined() ? matmul_transposed(xv, swi.get(op), false, true) : xv) +
               matmul(sh.get(op), transpose(swh.get(op), 0, 1));  // no copy of a transposed_rows W_hh
  if (sbi.defined()) pre = pre + sbi.get(op);
  if (sbh.defined()) pre = pre + sbh.get(op);
  return pre;
}

std::tuple<Tensor, Tensor> lstm_cell_impl(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih,
                                          const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh, const char* op) {
  Tensor pre = cell_gates(x, h, w_ih, w_hh, b_ih, b_hh, 4, op);
  detail::check_same_dtype(x, c, op);
  if (c.shape() != h.shape())
    fail("{}: cell state {} must have the shape of hidden state {}", op, describe(c), describe(h));
  Tensor act = empty(pre.shape(), pre.dtype());
  Tensor h2 = empty(h.shape(), h.dtype()), c2 = empty(h.shape(), h.dtype()), tc = empty(h.shape(), h.dtype());
  dispatch_floating(x.dtype(), op, [&]<class T>() {
    kernels::lstm_forward(pre.cdata<T>(), act.cdata<T>(), c.cdata<T>(), h2.cdata<T>(), c2.cdata<T>(), tc.cdata<T>(),
                          h.size(0), h.size(1));
  });
  if (any_requires_grad({&x, &h, &c, &w_ih, &w_hh, &b_ih, &b_hh}))
    record(
        op, {&x, &h, &c, &w_ih, &w_hh, &b_ih, &b_hh}, {&h2, &c2},
        [op, act, tc, sx = SavedTensor(x), sh = SavedTensor(h), sc = SavedTensor(c), swi = SavedTensor(w_ih),
         swh = SavedTensor(w_hh), sbi = SavedTensor(b_ih), sbh = SavedTensor(b_hh)](BackwardCtx& ctx) {
          const Tensor cv = sc.get(op);
          // lstm_cell_backward's saved inputs: the forward's buffers, or when this backward is recorded
          // (create_graph) the same values as graph tensors of the cell's inputs and of c'
          Tensor gates = act, tcv = tc;
          if (GradMode::is_enabled()) {
            const Tensor pre = recompute_gates(sx, sh, swi, swh, sbi, sbh, op);
            const auto H = cv.size(1);
            gates = cat({sigmoid(narrow(pre, 1, 0, 2 * H)), tanh(narrow(pre, 1, 2 * H, H)),
                         sigmoid(narrow(pre, 1, 3 * H, H))},
                        1);
            tcv = tanh(ctx.output(1));
          }
          auto [da, dc] = lstm_cell_backward(ctx.grad(0), ctx.grad(1), gates, cv, tcv);
          if (ctx.needs(2)) ctx.set(2, dc);
          gates_backward(ctx, da, da, Tensor(), sx, sh, swi, swh, 1, 3, op);
        },
        Keep::Output);  // the kernel reads both output gradients: zeros for one that got none
  if (any_tangent({&x, &h, &c, &w_ih, &w_hh, &b_ih, &b_hh}))
    propagate_tangent(op, {&x, &h, &c, &w_ih, &w_hh, &b_ih, &b_hh}, {&h2, &c2}, [&](JvpCtx& t) {
      // tc' = tf c + f tc + ti g + i tg,  th' = to tanh(c') + o (1 - tanh^2 c') tc', with the activated
      // gates of the forward's buffers, or, when an input requires grad, recomputed with ops (so that
      // reverse over forward reaches the inputs; two more products)
      const auto H = h.size(1);
      const bool recorded = any_requires_grad({&x, &h, &c, &w_ih, &w_hh, &b_ih, &b_hh});
      const Tensor pv = recorded ? (w_ih.defined() ? linear(x, w_ih, b_ih) : x) + linear(h, w_hh, b_hh) : Tensor();
      const Tensor i = recorded ? sigmoid(narrow(pv, 1, 0, H)) : narrow(act, 1, 0, H),
                   f = recorded ? sigmoid(narrow(pv, 1, H, H)) : narrow(act, 1, H, H),
                   g = recorded ? tanh(narrow(pv, 1, 2 * H, H)) : narrow(act, 1, 2 * H, H),
                   o = recorded ? sigmoid(narrow(pv, 1, 3 * H, H)) : narrow(act, 1, 3 * H, H);
      const Tensor tp = affine_tangent(x, t.tangent(0), w_ih, t.tangent(3), t.tangent(5), pre.shape()) +
                        affine_tangent(h, t.tangent(1), w_hh, t.tangent(4), t.tangent(6), pre.shape());
      Tensor tc2 = sigmoid_backward(narrow(tp, 1, H, H), f) * c + sigmoid_backward(narrow(tp, 1, 0, H), i) * g +
                   i * tanh_backward(narrow(tp, 1, 2 * H, H), g);
      if (t.has(2)) tc2 = tc2 + f * t.tangent(2);
      const Tensor tcn = recorded ? tanh(c2) : tc;
      t.set(0, sigmoid_backward(narrow(tp, 1, 3 * H, H), o) * tcn + tanh_backward(tc2 * o, tcn));
      t.set(1, tc2);
    });
  return {h2, c2};
}

Tensor gru_cell_impl(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                     const Tensor& b_hh, const char* op) {
  check_cell(x, h, w_ih, w_hh, b_ih, b_hh, 3, op);
  const auto batch = h.size(0), hid = h.size(1);
  const bool proj = w_ih.defined();
  Tensor xg = proj ? empty({batch, 3 * hid}, x.dtype()) : x, gh = empty({batch, 3 * hid}, x.dtype());
  Tensor pre = empty({batch, 3 * hid}, x.dtype()), ws = empty({batch, 4 * hid}, x.dtype()),
         h2 = empty(h.shape(), x.dtype());
  dispatch_floating(x.dtype(), op, [&]<class T>() {
    if (proj) project<T>(x, w_ih, b_ih, Tensor(), w_hh, Tensor(), xg.cdata<T>());
    project<T>(h, w_hh, b_hh, Tensor(), w_hh, Tensor(), gh.cdata<T>());
    kernels::gru_forward(xg.cdata<T>(), gh.cdata<T>(), h.cdata<T>(), pre.cdata<T>(), h2.cdata<T>(), ws.cdata<T>(),
                         batch, hid);
  });
  if (any_requires_grad({&x, &h, &w_ih, &w_hh, &b_ih, &b_hh}))
    record(op, {&x, &h, &w_ih, &w_hh, &b_ih, &b_hh}, {&h2},
           [op, ws, sx = SavedTensor(x), sh = SavedTensor(h), swi = SavedTensor(w_ih), swh = SavedTensor(w_hh),
            sbi = SavedTensor(b_ih), sbh = SavedTensor(b_hh)](BackwardCtx& c) {
             const Tensor hv = sh.get(op);
             // gru_cell_backward's saved gates: the forward's buffer, or when this backward is recorded
             // (create_graph) the same values as graph tensors of the cell's inputs
             Tensor gates = ws;
             if (GradMode::is_enabled()) {
               const Tensor xv = sx.get(op);
               Tensor xgv = swi.defined() ? matmul_transposed(xv, swi.get(op), false, true) : xv;
               Tensor ghv = matmul_transposed(hv, swh.get(op), false, true);
               if (sbi.defined()) xgv = xgv + sbi.get(op);
               if (sbh.defined()) ghv = ghv + sbh.get(op);
               const auto H = hv.size(1);
               const Tensor r = sigmoid(narrow(xgv, 1, 0, H) + narrow(ghv, 1, 0, H));
               const Tensor z = sigmoid(narrow(xgv, 1, H, H) + narrow(ghv, 1, H, H));
               const Tensor ghn = narrow(ghv, 1, 2 * H, H);
               gates = cat({r, z, tanh(narrow(xgv, 1, 2 * H, H) + r * ghn), ghn}, 1);
             }
             auto [ax, ah, dh0] = gru_cell_backward(c.grad(), gates, hv);
             gates_backward(c, ax, ah, dh0, sx, sh, swi, swh, 1, 2, op);
           });
  if (any_tangent({&x, &h, &w_ih, &w_hh, &b_ih, &b_hh}))
    propagate_tangent(op, {&x, &h, &w_ih, &w_hh, &b_ih, &b_hh}, {&h2}, [&](JvpCtx& t) {
      // the gates recomputed with ops (reverse over forward reaches the inputs), and with txg, tgh the
      // tangents of xg, gh: tr = r(1-r)(txg_r + tgh_r), tz likewise, tn = (1-n^2)(txg_n + tr gh_n + r tgh_n),
      // th' = (1-z) tn + tz (h - n) + z th
      // (the forward's workspace [r, z, n, gh_n] when no input requires grad: no products again)
      const auto H = hid;
      Tensor r, z, ghn, n;
      if (any_requires_grad({&x, &h, &w_ih, &w_hh, &b_ih, &b_hh})) {
        const Tensor xgv = proj ? linear(x, w_ih, b_ih) : x, ghv = linear(h, w_hh, b_hh);
        r = sigmoid(narrow(xgv, 1, 0, H) + narrow(ghv, 1, 0, H));
        z = sigmoid(narrow(xgv, 1, H, H) + narrow(ghv, 1, H, H));
        ghn = narrow(ghv, 1, 2 * H, H);
        n = tanh(narrow(xgv, 1, 2 * H, H) + r * ghn);
      } else {
        r = narrow(ws, 1, 0, H);
        z = narrow(ws, 1, H, H);
        n = narrow(ws, 1, 2 * H, H);
        ghn = narrow(ws, 1, 3 * H, H);
      }
      const Tensor txg = affine_tangent(x, t.tangent(0), w_ih, t.tangent(2), t.tangent(4), pre.shape()),
                   tgh = affine_tangent(h, t.tangent(1), w_hh, t.tangent(3), t.tangent(5), pre.shape());
      const Tensor tr = sigmoid_backward(narrow(txg, 1, 0, H) + narrow(tgh, 1, 0, H), r),
                   tz = sigmoid_backward(narrow(txg, 1, H, H) + narrow(tgh, 1, H, H), z);
      const Tensor tn = tanh_backward(narrow(txg, 1, 2 * H, H) + tr * ghn + r * narrow(tgh, 1, 2 * H, H), n);
      Tensor th = (1.0 - z) * tn + tz * (h - n);
      if (t.has(1)) th = th + z * t.tangent(1);
      t.set(0, th);
    });
  return h2;
}

}  // namespace

Tensor fused_gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                      const Tensor& b_hh) {
  return gru_cell_impl(x, h, w_ih, w_hh, b_ih, b_hh, "fused_gru_cell");
}

Tensor fused_gru_cell_gates(const Tensor& xg, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh) {
  return gru_cell_impl(xg, h, Tensor(), w_hh, Tensor(), b_hh, "fused_gru_cell_gates");
}

std::tuple<Tensor, Tensor> fused_lstm_cell(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih,
                                           const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
  return lstm_cell_impl(x, h, c, w_ih, w_hh, b_ih, b_hh, "fused_lstm_cell");
}

std::tuple<Tensor, Tensor> fused_lstm_cell_gates(const Tensor& xg, const Tensor& h, const Tensor& c, const Tensor& w_hh,
                                                 const Tensor& b_hh) {
  return lstm_cell_impl(xg, h, c, Tensor(), w_hh, Tensor(), b_hh, "fused_lstm_cell_gates");
}

Tensor softmax_cross_entropy(const Tensor& z, const Tensor& target) {
  const char* op = "softmax_cross_entropy";
  detail::check_cross_entropy_args(z, target, op);
  const auto rows = z.size(0), classes = z.size(1);
  const std::int64_t* t = target.cdata<std::int64_t>();
  Tensor loss = empty({rows}, z.dtype());
  const bool grad = any_requires_grad({&z});
  // per row (shift, log of the sum of exps), from which the backward gets the softmax in one pass
  Tensor stats = grad ? empty({rows, 2}, z.dtype()) : Tensor();
  dispatch_floating(z.dtype(), op, [&]<class T>() {
    kernels::softmax_xent_forward(z.cdata<T>(), t, loss.cdata<T>(), grad ? stats.cdata<T>() : nullptr, rows, classes);
  });
  if (grad)
    record(op, {&z}, {&loss}, [op, sz = SavedTensor(z), st = SavedTensor(target), stats](BackwardCtx& c) {
      c.set(0, detail::softmax_cross_entropy_backward(c.grad(), sz.get(op), st.get(op), stats));
    });
  if (any_tangent({&z}))
    propagate_tangent(op, {&z}, {&loss}, [&](JvpCtx& c) {  // sum over the row of (softmax(z) - onehot(t)) tz
      const Tensor& tz = c.tangent(0);
      c.set(0, sum(softmax(z, 1) * tz, 1) - squeeze(gather(tz, 1, unsqueeze(target, 1)), 1));
    });
  return loss;
}

}  // namespace ag
