#include "autograd/ops/unary.h"

#include <cmath>
#include <limits>

#include "autograd/forward_grad.h"
#include "autograd/kernels/transcend.h"
#include "autograd/ops/arith.h"
#include "autograd/ops/util.h"
#include "autograd/parallel.h"
#include "autograd/tape.h"

namespace ag {

using detail::map_floating;
using detail::zip_floating;

namespace {
// 1 where pred(x) holds, else 0: the mask that gates a gradient (not recorded).
template <class P>
Tensor mask_where(const Tensor& x, P pred) {
  return map_floating(x, "mask", [pred](auto v) { return pred(v) ? decltype(v)(1) : decltype(v)(0); });
}

// y = k(x) with a whole-buffer kernel from kernels/transcend.h (vectorized, threaded).
template <class K>
Tensor map_kernel(const Tensor& x, const char* op, K k) {
  const auto& im = x.checked(op);
  Tensor y = empty(im.shape, im.dtype);
  dispatch_floating(im.dtype, op, [&]<class T>() { k(x.cdata<T>(), y.cdata<T>(), im.numel); });
  return y;
}
}  // namespace

Tensor exp(const Tensor& x) {
  Tensor y = map_kernel(x, "exp", [](const auto* in, auto* out, std::int64_t n) { kernels::exp(in, out, n); });
  if (any_requires_grad({&x}))
    record(
        "exp", {&x}, {&y}, [](BackwardCtx& c) { c.set(0, mul(c.grad(), c.output())); }, Keep::Output);
  if (any_tangent({&x})) propagate_tangent("exp", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, mul(c.tangent(0), y)); });
  return y;
}

Tensor log(const Tensor& x) {
  Tensor y = map_floating(x, "log", [](auto v) { return std::log(v); });
  if (any_requires_grad({&x}))
    record("log", {&x}, {&y}, [sx = SavedTensor(x)](BackwardCtx& c) { c.set(0, div(c.grad(), sx.get("log"))); });
  if (any_tangent({&x})) propagate_tangent("log", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, div(c.tangent(0), x)); });
  return y;
}

Tensor sqrt(const Tensor& x) {
  Tensor y = map_floating(x, "sqrt", [](auto v) { return std::sqrt(v); });
  if (any_requires_grad({&x}))
    record(
        "sqrt", {&x}, {&y}, [](BackwardCtx& c) { c.set(0, div(c.grad(), mul(c.output(), 2.0))); }, Keep::Output);
  if (any_tangent({&x}))
    propagate_tangent("sqrt", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, div(c.tangent(0), mul(y, 2.0))); });
  return y;
}

namespace {
// sign(x) as a constant (not recorded): abs's derivative, 0 at 0 as PyTorch's
Tensor sign_values(const Tensor& x) {
  return map_floating(x, "abs",
                      [](auto v) { return v > 0 ? decltype(v)(1) : (v < 0 ? decltype(v)(-1) : decltype(v)(0)); });
}
}  // namespace

Tensor abs(const Tensor& x) {
  Tensor y = map_floating(x, "abs", [](auto v) { return std::abs(v); });
  if (any_requires_grad({&x}))
    record("abs", {&x}, {&y},
           [sx = SavedTensor(x)](BackwardCtx& c) { c.set(0, mul(c.grad(), sign_values(sx.get("abs")))); });
  if (any_tangent({&x}))
    propagate_tangent("abs", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, mul(c.tangent(0), sign_values(x))); });
  return y;
}

Tensor sigmoid(const Tensor& x) {
  Tensor y = map_kernel(x, "sigmoid", [](const auto* in, auto* out, std::int64_t n) { kernels::sigmoid(in, out, n); });
  if (any_requires_grad({&x}))
    record(
        "sigmoid", {&x}, {&y}, [](BackwardCtx& c) { c.set(0, sigmoid_backward(c.grad(), c.output())); }, Keep::Output);
  if (any_tangent({&x}))
    propagate_tangent("sigmoid", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, sigmoid_backward(c.tangent(0), y)); });
  return y;
}

Tensor tanh(const Tensor& x) {
  Tensor y = map_kernel(x, "tanh", [](const auto* in, auto* out, std::int64_t n) { kernels::tanh(in, out, n); });
  if (any_requires_grad({&x}))
    record(
        "tanh", {&x}, {&y}, [](BackwardCtx& c) { c.set(0, tanh_backward(c.grad(), c.output())); }, Keep::Output);
  if (any_tangent({&x}))
    propagate_tangent("tanh", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, tanh_backward(c.tangent(0), y)); });
  return y;
}

// NaN propagates, with gradient 1, as PyTorch's (clamp_min(x, 0); threshold_backward zeroes y <= 0 only)
Tensor relu(const Tensor& x) {
  Tensor y = map_floating(x, "relu", [](auto v) { return v <= 0 ? decltype(v)(0) : v; });
  if (any_requires_grad({&x}))
    record(
        "relu", {&x}, {&y}, [](BackwardCtx& c) { c.set(0, threshold_backward(c.grad(), c.output(), 0.0)); },
        Keep::Output);
  if (any_tangent({&x}))
    propagate_tangent("relu", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, threshold_backward(c.tangent(0), y, 0.0)); });
  return y;
}

namespace {
// leaky_relu's derivative as a constant (not recorded): 1 where x > 0, else the slope
Tensor leaky_relu_slopes(const Tensor& x, double slope) {
  return map_floating(x, "leaky_relu",
                      [slope](auto v) { return v > 0 ? decltype(v)(1) : static_cast<decltype(v)>(slope); });
}
}  // namespace

Tensor leaky_relu(const Tensor& x, double slope) {
  Tensor y = map_floating(x, "leaky_relu", [slope](auto v) { return v > 0 ? v : v * static_cast<decltype(v)>(slope); });
  if (any_requires_grad({&x}))
    record("leaky_relu", {&x}, {&y}, [slope, sx = SavedTensor(x)](BackwardCtx& c) {
      c.set(0, mul(c.grad(), leaky_relu_slopes(sx.get("leaky_relu").detach(), slope)));
    });
  if (any_tangent({&x}))
    propagate_tangent("leaky_relu", {&x}, {&y},
                      [&](JvpCtx& c) { c.set(0, mul(c.tangent(0), leaky_relu_slopes(x.detach(), slope))); });
  return y;
}

namespace {
// d softplus / dx = sigmoid(beta x) (1 where beta x > threshold), written with ops so that it can be
// differentiated again.
Tensor softplus_derivative(const Tensor& x, double beta, double threshold) {
  const Tensor s = sigmoid(mul(x, beta));
  const Tensor lin = mask_where(x.detach(), [beta, threshold](auto v) { return v * beta > threshold; });
  return add(mul(s, sub(1.0, lin)), lin);
}
}  // namespace

Tensor softplus(const Tensor& x, double beta, double threshold) {
  if (!(beta > 0)) fail("softplus: beta must be > 0, got {} for {}", beta, describe(x));
  Tensor y = map_floating(x, "softplus", [beta, threshold](auto v) {
    using T = decltype(v);
    const T bx = v * static_cast<T>(beta);
    return bx > static_cast<T>(threshold) ? v : std::log1p(std::exp(bx)) / static_cast<T>(beta);
  });
  if (any_requires_grad({&x}))
    record("softplus", {&x}, {&y}, [beta, threshold, sx = SavedTensor(x)](BackwardCtx& c) {
      c.set(0, mul(c.grad(), softplus_derivative(sx.get("softplus"), beta, threshold)));
    });
  if (any_tangent({&x}))
    propagate_tangent("softplus", {&x}, {&y},
                      [&](JvpCtx& c) { c.set(0, mul(c.tangent(0), softplus_derivative(x, beta, threshold))); });
  return y;
}

namespace {
// 1 where lo <= x <= hi (the gradient passes), else 0 (not recorded)
Tensor clamp_mask(const Tensor& x, double lo, double hi) {
  return mask_where(x.detach(), [lo, hi](auto v) {
    return v >= static_cast<decltype(v)>(lo) && v <= static_cast<decltype(v)>(hi);
  });
}
}  // namespace

Tensor clamp(const Tensor& x, double lo, double hi) {
  // min(max(x, lo), hi) as PyTorch: with lo > hi every value becomes hi; NaN stays NaN
  Tensor y = map_floating(x, "clamp", [lo, hi](auto v) {
    using T = decltype(v);
    const T r = v < static_cast<T>(lo) ? static_cast<T>(lo) : v;
    return r > static_cast<T>(hi) ? static_cast<T>(hi) : r;
  });
  if (any_requires_grad({&x}))
    record("clamp", {&x}, {&y}, [lo, hi, sx = SavedTensor(x)](BackwardCtx& c) {
      c.set(0, mul(c.grad(), clamp_mask(sx.get("clamp").detach(), lo, hi)));
    });
  if (any_tangent({&x}))
    propagate_tangent("clamp", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, mul(c.tangent(0), clamp_mask(x, lo, hi))); });
  return y;
}

namespace {
template <class T, class F>
void backward_loop(const T* __restrict g, const T* __restrict v, T* __restrict out, std::int64_t n, F f) {
  for (std::int64_t k = 0; k < n; ++k) out[k] = f(g[k], v[k]);
}

// d = f(grad, t) elementwise for a backward op: grad and t floating, of one dtype and one shape (no
// broadcasting); one pass over the buffers.
template <class F>
Tensor backward_map(const Tensor& grad, const Tensor& t, const char* op, const char* what, F f) {
  const TensorImpl& ig = grad.dense(op);
  const TensorImpl& it = t.dense(op);
  if (ig.dtype != it.dtype) detail::check_same_dtype(grad, t, op);  // throws
  if (!is_floating(ig.dtype)) fail("{}: expected floating tensors (float32 or float64), got {}", op, describe(grad));
  if (ig.shape != it.shape)
    fail("{}: grad {} and {} {} must have the same shape", op, describe(grad), what, describe(t));
  Tensor d = empty(ig.shape, ig.dtype);
  dispatch_floating(ig.dtype, op, [&]<class T>() {
    const T* g = ig.data_unchecked<T>();
    const T* v = it.data_unchecked<T>();
    T* out = d.impl()->data_unchecked<T>();  // a new buffer: no aliasing
    parallel_for(0, ig.numel, kernels::kGrain,
                 [&](std::int64_t lo, std::int64_t hi) { backward_loop(g + lo, v + lo, out + lo, hi - lo, f); });
  });
  return d;
}
}  // namespace

Tensor tanh_backward(const Tensor& grad, const Tensor& output) {
  Tensor d = backward_map(grad, output, "tanh_backward", "output",
                          [](auto g, auto v) { return g * (decltype(v)(1) - v * v); });
  if (any_requires_grad({&grad, &output}))
    record("tanh_backward", {&grad, &output}, {&d}, [sg = SavedTensor(grad), sy = SavedTensor(output)](BackwardCtx& c) {
      const Tensor yv = sy.get("tanh_backward");
      if (c.needs(0)) c.set(0, tanh_backward(c.grad(), yv));
      if (c.needs(1)) c.set(1, mul(mul(c.grad(), sg.get("tanh_backward")), mul(yv, -2.0)));
    });
  if (any_tangent({&grad, &output}))  // d = g (1 - y^2): tg (1 - y^2) - 2 g y ty
    propagate_tangent("tanh_backward", {&grad, &output}, {&d}, [&](JvpCtx& c) {
      c.set(0, detail::tangent_add(c.has(0) ? tanh_backward(c.tangent(0), output) : Tensor(),
                                   c.has(1) ? mul(mul(c.tangent(1), grad), mul(output, -2.0)) : Tensor()));
    });
  return d;
}

Tensor sigmoid_backward(const Tensor& grad, const Tensor& output) {
  Tensor d = backward_map(grad, output, "sigmoid_backward", "output",
                          [](auto g, auto v) { return g * (v * (decltype(v)(1) - v)); });
  if (any_requires_grad({&grad, &output}))
    record("sigmoid_backward", {&grad, &output}, {&d},
           [sg = SavedTensor(grad), sy = SavedTensor(output)](BackwardCtx& c) {
             const Tensor yv = sy.get("sigmoid_backward");
             if (c.needs(0)) c.set(0, sigmoid_backward(c.grad(), yv));
             if (c.needs(1)) c.set(1, mul(mul(c.grad(), sg.get("sigmoid_backward")), sub(1.0, mul(yv, 2.0))));
           });
  if (any_tangent({&grad, &output}))  // d = g y (1 - y): tg y (1 - y) + g (1 - 2y) ty
    propagate_tangent("sigmoid_backward", {&grad, &output}, {&d}, [&](JvpCtx& c) {
      c.set(0, detail::tangent_add(c.has(0) ? sigmoid_backward(c.tangent(0), output) : Tensor(),
                                   c.has(1) ? mul(mul(c.tangent(1), grad), sub(1.0, mul(output, 2.0))) : Tensor()));
    });
  return d;
}

Tensor threshold_backward(const Tensor& grad, const Tensor& self, double threshold) {
  Tensor d = backward_map(grad, self, "threshold_backward", "self", [threshold](auto g, auto v) {
    return v <= static_cast<decltype(v)>(threshold) ? decltype(g)(0) : g;  // NaN passes g, as PyTorch
  });
  if (any_requires_grad({&grad}))  // self gets no gradient (zero almost everywhere)
    record("threshold_backward", {&grad}, {&d}, [threshold, ss = SavedTensor(self)](BackwardCtx& c) {
      c.set(0, threshold_backward(c.grad(), ss.get("threshold_backward"), threshold));
    });
  if (any_tangent({&grad}))  // as its VJP: linear in grad, constant in self (zero tangent from it)
    propagate_tangent("threshold_backward", {&grad}, {&d},
                      [&](JvpCtx& c) { c.set(0, threshold_backward(c.tangent(0), self, threshold)); });
  return d;
}

Tensor clamp_min(const Tensor& x, double lo) { return clamp(x, lo, std::numeric_limits<double>::infinity()); }
Tensor clamp_max(const Tensor& x, double hi) { return clamp(x, -std::numeric_limits<double>::infinity(), hi); }

}  // namespace ag
