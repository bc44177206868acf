// The backward ops of ops/fused.h, in a file apart from the forward ops.
#include "autograd/ops/fused.h"

#include <tuple>

#include "autograd/forward_grad.h"
#include "autograd/kernels/fused.h"
#include "autograd/ops/arith.h"
#include "autograd/ops/index.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/ops/softmax.h"
#include "autograd/ops/unary.h"
#include "autograd/ops/util.h"
#include "autograd/tape.h"

namespace ag {

namespace detail {

void check_cross_entropy_args(const Tensor& z, const Tensor& target, const char* op) {
  if (!is_floating(z.checked(op).dtype))
    fail("{}: expected a floating tensor (float32 or float64), got {}", op, describe(z));
  target.checked(op);
  if (z.dim() != 2) fail("{}: expects logits [N, C], got {}", op, describe(z));
  if (target.dtype() != kInt64 || target.dim() != 1 || target.size(0) != z.size(0))
    fail("{}: target must be int64 [{}] for logits {}, got {}", op, z.size(0), describe(z), describe(target));
  const auto rows = z.size(0), classes = z.size(1);
  const std::int64_t* t = target.cdata<std::int64_t>();
  for (std::int64_t n = 0; n < rows; ++n)
    if (t[n] < 0 || t[n] >= classes)
      fail("{}: target {} at position {} is out of range for {} classes (logits {})", op, t[n], n, classes,
           describe(z));
}

}  // namespace detail

namespace {

void check_floating(const Tensor& t, const char* op) {
  if (!is_floating(t.checked(op).dtype))
    fail("{}: expected a floating tensor (float32 or float64), got {}", op, describe(t));
}

// t has the shape `s` of `ref` (a backward op's argument `what` against its reference argument).
void check_shape(const Tensor& t, const Shape& s, const char* op, const char* what, const Tensor& ref) {
  if (t.shape() != s) fail("{}: {} must be {} for {}, got {}", op, what, shape_str(s), describe(ref), describe(t));
}

// Column block k of width w of a [B, n] tensor.
Tensor block(const Tensor& x, std::int64_t k, std::int64_t w) { return narrow(x, 1, k * w, w); }

// For the JVP rules: a value and its tangent (dual numbers over tensors), so that a backward op's
// formula, written once with these, gives its tangent by the product rule.
struct Dual {
  Tensor v, t;
};
Dual operator+(const Dual& a, const Dual& b) { return {a.v + b.v, a.t + b.t}; }
Dual operator-(const Dual& a, const Dual& b) { return {a.v - b.v, a.t - b.t}; }
Dual operator*(const Dual& a, const Dual& b) { return {a.v * b.v, a.t * b.v + a.v * b.t}; }
Dual operator-(double s, const Dual& a) { return {s - a.v, neg(a.t)}; }
Dual block(const Dual& x, std::int64_t k, std::int64_t w) { return {block(x.v, k, w), block(x.t, k, w)}; }
// Input i of a JVP rule as a Dual (zero tangent where it carries none).
Dual dual_in(const JvpCtx& c, std::size_t i, const Tensor& v) { return {v, c.tangent_or_zeros(i)}; }

}  // namespace

std::tuple<Tensor, Tensor> lstm_cell_backward(const Tensor& grad_h, const Tensor& grad_c, const Tensor& gates,
                                              const Tensor& c, const Tensor& tanh_c_new) {
  const char* op = "lstm_cell_backward";
  check_floating(c, op);
  for (const Tensor* t : {&grad_h, &grad_c, &gates, &tanh_c_new}) detail::check_same_dtype(c, *t, op);
  if (c.dim() != 2) fail("{}: expects cell state c [B, H], got {}", op, describe(c));
  const auto batch = c.size(0), hid = c.size(1);
  check_shape(gates, {batch, 4 * hid}, op, "gates (i, f, g, o)", c);
  check_shape(grad_h, c.shape(), op, "grad_h", c);
  check_shape(grad_c, c.shape(), op, "grad_c", c);
  check_shape(tanh_c_new, c.shape(), op, "tanh_c_new", c);
  Tensor dgates = empty({batch, 4 * hid}, c.dtype()), dc = empty(c.shape(), c.dtype());
  dispatch_floating(c.dtype(), op, [&]<class T>() {
    kernels::lstm_backward(gates.cdata<T>(), c.cdata<T>(), tanh_c_new.cdata<T>(), grad_h.cdata<T>(), grad_c.cdata<T>(),
                           dgates.cdata<T>(), dc.cdata<T>(), batch, hid);
  });
  if (any_requires_grad({&grad_h, &grad_c, &gates, &c, &tanh_c_new}))
    record(
        op, {&grad_h, &grad_c, &gates, &c, &tanh_c_new}, {&dgates, &dc},
        [op, sdh = SavedTensor(grad_h), sdc = SavedTensor(grad_c), sa = SavedTensor(gates), sc = SavedTensor(c),
         st = SavedTensor(tanh_c_new)](BackwardCtx& ctx) {
          // the derivatives of kernels::lstm_backward's formula, with G (of dgates) and Gc (of dc)
          const Tensor dh = sdh.get(op), act = sa.get(op), cv = sc.get(op), t = st.get(op);
          const auto H = cv.size(1);
          const Tensor i = block(act, 0, H), f = block(act, 1, H), g = block(act, 2, H), o = block(act, 3, H);
          const Tensor& G = ctx.grad(0);
          const Tensor& Gc = ctx.grad(1);
          const Tensor Gi = block(G, 0, H), Gf = block(G, 1, H), Gg = block(G, 2, H), Go = block(G, 3, H);
          const Tensor dct = sdc.get(op) + tanh_backward(dh * o, t);
          const Tensor Pi = sigmoid_backward(Gi, i), Pf = sigmoid_backward(Gf, f), Pg = tanh_backward(Gg, g),
                       Po = sigmoid_backward(Go, o);
          const Tensor Gdct = Pi * g + Pf * cv + Pg * i + Gc * f;  // the gradient of dct
          if (ctx.needs(0)) ctx.set(0, tanh_backward(Gdct * o, t) + Po * t);
          if (ctx.needs(1)) ctx.set(1, Gdct);
          if (ctx.needs(2))
            ctx.set(2, cat({Gi * dct * g * (1.0 - 2.0 * i) + Pg * dct, Gf * dct * cv * (1.0 - 2.0 * f) + Gc * dct,
                            Pi * dct - 2.0 * Gg * dct * i * g,
                            tanh_backward(Gdct * dh, t) + Go * dh * t * (1.0 - 2.0 * o)},
                           1));
          if (ctx.needs(3)) ctx.set(3, Pf * dct);
          if (ctx.needs(4)) ctx.set(4, Po * dh - 2.0 * Gdct * dh * o * t);
        },
        Keep::Output);  // several outputs: the VJP reads both gradients (zeros where none reached)
  if (any_tangent({&grad_h, &grad_c, &gates, &c, &tanh_c_new}))
    propagate_tangent(op, {&grad_h, &grad_c, &gates, &c, &tanh_c_new}, {&dgates, &dc}, [&](JvpCtx& ctx) {
      // kernels::lstm_backward's formula over dual numbers
      const Dual dh = dual_in(ctx, 0, grad_h), dc2 = dual_in(ctx, 1, grad_c), act = dual_in(ctx, 2, gates),
                 cv = dual_in(ctx, 3, c), t = dual_in(ctx, 4, tanh_c_new);
      const auto H = hid;
      const Dual i = block(act, 0, H), f = block(act, 1, H), g = block(act, 2, H), o = block(act, 3, H);
      const Dual dct = dc2 + dh * o * (1.0 - t * t);
      ctx.set(0, cat({(dct * g * i * (1.0 - i)).t, (dct * cv * f * (1.0 - f)).t, (dct * i * (1.0 - g * g)).t,
                      (dh * t * o * (1.0 - o)).t},
                     1));
      ctx.set(1, (dct * f).t);
    });
  return {dgates, dc};
}

std::tuple<Tensor, Tensor, Tensor> gru_cell_backward(const Tensor& grad_h, const Tensor& gates, const Tensor& h) {
  const char* op = "gru_cell_backward";
  check_floating(h, op);
  for (const Tensor* t : {&grad_h, &gates}) detail::check_same_dtype(h, *t, op);
  if (h.dim() != 2) fail("{}: expects hidden state h [B, H], got {}", op, describe(h));
  const auto batch = h.size(0), hid = h.size(1);
  check_shape(gates, {batch, 4 * hid}, op, "gates (r, z, n, hn)", h);
  check_shape(grad_h, h.shape(), op, "grad_h", h);
  Tensor dxg = empty({batch, 3 * hid}, h.dtype()), dgh = empty({batch, 3 * hid}, h.dtype()),
         dh = empty(h.shape(), h.dtype());
  dispatch_floating(h.dtype(), op, [&]<class T>() {
    kernels::gru_backward(gates.cdata<T>(), h.cdata<T>(), grad_h.cdata<T>(), dxg.cdata<T>(), dgh.cdata<T>(),
                          dh.cdata<T>(), batch, hid);
  });
  if (any_requires_grad({&grad_h, &gates, &h}))
    record(
        op, {&grad_h, &gates, &h}, {&dxg, &dgh, &dh},
        [op, sg = SavedTensor(grad_h), sw = SavedTensor(gates), sh = SavedTensor(h)](BackwardCtx& ctx) {
          // the derivatives of kernels::gru_backward's formula, with Gx, Gh, Gd of dxg, dgh, dh
          const Tensor g = sg.get(op), w = sw.get(op), hv = sh.get(op);
          const auto H = hv.size(1);
          const Tensor r = block(w, 0, H), z = block(w, 1, H), n = block(w, 2, H), hn = block(w, 3, H);
          const Tensor& Gx = ctx.grad(0);
          const Tensor& Gh = ctx.grad(1);
          const Tensor& Gd = ctx.grad(2);
          const Tensor Ar = block(Gx, 0, H) + block(Gh, 0, H), Az = block(Gx, 1, H) + block(Gh, 1, H);
          const Tensor Ghn = block(Gh, 2, H);
          const Tensor an = tanh_backward(g * (1.0 - z), n);
          const Tensor Sr = sigmoid_backward(Ar, r), Sz = sigmoid_backward(Az, z);
          const Tensor Tan = block(Gx, 2, H) + Ghn * r + Sr * hn;  // the gradient of an
          if (ctx.needs(0)) ctx.set(0, tanh_backward(Tan * (1.0 - z), n) + Sz * (hv - n) + Gd * z);
          if (ctx.needs(1))
            ctx.set(1, cat({Ghn * an + Ar * an * hn * (1.0 - 2.0 * r),
                            Gd * g - tanh_backward(Tan * g, n) + Az * g * (hv - n) * (1.0 - 2.0 * z),
                            -2.0 * Tan * g * (1.0 - z) * n - Sz * g, Sr * an},
                           1));
          if (ctx.needs(2)) ctx.set(2, Sz * g);
        },
        Keep::Output);  // several outputs: the VJP reads both gradients (zeros where none reached)
  if (any_tangent({&grad_h, &gates, &h}))
    propagate_tangent(op, {&grad_h, &gates, &h}, {&dxg, &dgh, &dh}, [&](JvpCtx& ctx) {
      // kernels::gru_backward's formula over dual numbers
      const Dual g = dual_in(ctx, 0, grad_h), w = dual_in(ctx, 1, gates), hv = dual_in(ctx, 2, h);
      const auto H = hid;
      const Dual r = block(w, 0, H), z = block(w, 1, H), n = block(w, 2, H), hn = block(w, 3, H);
      const Dual an = g * (1.0 - z) * (1.0 - n * n);
      const Dual ar = an * hn * r * (1.0 - r), az = g * (hv - n) * z * (1.0 - z);
      ctx.set(0, cat({ar.t, az.t, an.t}, 1));
      ctx.set(1, cat({ar.t, az.t, (an * r).t}, 1));
      ctx.set(2, (g * z).t);
    });
  return {dxg, dgh, dh};
}

Tensor softmax_cross_entropy_backward(const Tensor& grad, const Tensor& logits, const Tensor& target) {
  return detail::softmax_cross_entropy_backward(grad, logits, target, Tensor());
}

Tensor detail::softmax_cross_entropy_backward(const Tensor& grad, const Tensor& logits, const Tensor& target,
                                              const Tensor& stats) {
  const char* op = "softmax_cross_entropy_backward";
  detail::check_cross_entropy_args(logits, target, op);
  detail::check_same_dtype(logits, grad, op);
  check_shape(grad, {logits.size(0)}, op, "grad", logits);
  Tensor dz = empty(logits.shape(), logits.dtype());
  dispatch_floating(logits.dtype(), op, [&]<class T>() {
    kernels::softmax_xent_backward(logits.cdata<T>(), target.cdata<std::int64_t>(), grad.cdata<T>(),
                                   stats.defined() ? stats.cdata<T>() : nullptr, dz.cdata<T>(), logits.size(0),
                                   logits.size(1));
  });
  if (any_requires_grad({&grad, &logits}))
    record(op, {&grad, &logits}, {&dz},
           [op, sg = SavedTensor(grad), sz = SavedTensor(logits), st = SavedTensor(target)](BackwardCtx& c) {
             // dz = (p - onehot) g[:, None] with p = softmax(z): G's row products for grad, softmax's VJP for z
             const Tensor& G = c.grad();
             const Tensor p = softmax(sz.get(op), 1);
             if (c.needs(0)) c.set(0, sum(G * p, 1) - squeeze(gather(G, 1, unsqueeze(st.get(op), 1)), 1));
             if (c.needs(1)) {
               const Tensor Gg = G * unsqueeze(sg.get(op), 1);
               c.set(1, p * (Gg - sum(Gg * p, 1, true)));
             }
           });
  if (any_tangent({&grad, &logits}))
    propagate_tangent(op, {&grad, &logits}, {&dz}, [&](JvpCtx& c) {
      // linear in grad (the op itself on tg), and softmax's JVP p (tz - sum(p tz)) times grad for z
      Tensor t = c.has(0) ? softmax_cross_entropy_backward(c.tangent(0), logits, target) : Tensor();
      if (c.has(1)) {
        const Tensor p = softmax(logits, 1), tz = c.tangent(1);
        t = detail::tangent_add(t, p * (tz - sum(p * tz, 1, true)) * unsqueeze(grad, 1));
      }
      c.set(0, t);
    });
  return dz;
}

}  // namespace ag
