#include "autograd/ops/unary.h"

#include <cmath>
#include <limits>

#include "autograd/kernels/transcend.h"
#include "autograd/ops/arith.h"
#include "autograd/ops/util.h"
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
  dispatch_floating(im.dtype, op, [&]<class T>() { k(x.data<T>(), y.data<T>(), im.numel); });
  return y;
}
}  // namespace

Tensor exp(const Tensor& x) {
  Tensor y = map_kernel(x, "exp", [](const auto* in, auto* out, std::int64_t n) { kernels::exp(in, out, n); });
  if (any_requires_grad({&x}))
    record("exp", {&x}, {&y}, [](BackwardCtx& c) { c.set(0, mul(c.grad(), c.output())); }, Keep::Output);
  return y;
}

Tensor log(const Tensor& x) {
  Tensor y = map_floating(x, "log", [](auto v) { return std::log(v); });
  if (any_requires_grad({&x}))
    record("log", {&x}, {&y}, [sx = SavedTensor(x)](BackwardCtx& c) { c.set(0, div(c.grad(), sx.get("log"))); });
  return y;
}

Tensor sqrt(const Tensor& x) {
  Tensor y = map_floating(x, "sqrt", [](auto v) { return std::sqrt(v); });
  if (any_requires_grad({&x}))
    record("sqrt", {&x}, {&y}, [](BackwardCtx& c) { c.set(0, div(c.grad(), mul(c.output(), 2.0))); }, Keep::Output);
  return y;
}

Tensor abs(const Tensor& x) {
  Tensor y = map_floating(x, "abs", [](auto v) { return std::abs(v); });
  if (any_requires_grad({&x}))
    record("abs", {&x}, {&y}, [sx = SavedTensor(x)](BackwardCtx& c) {
      const Tensor sign = map_floating(sx.get("abs"), "abs", [](auto v) {
        return v > 0 ? decltype(v)(1) : (v < 0 ? decltype(v)(-1) : decltype(v)(0));
      });
      c.set(0, mul(c.grad(), sign));
    });
  return y;
}

Tensor sigmoid(const Tensor& x) {
  Tensor y = map_kernel(x, "sigmoid", [](const auto* in, auto* out, std::int64_t n) { kernels::sigmoid(in, out, n); });
  if (any_requires_grad({&x}))
    record("sigmoid", {&x}, {&y}, [](BackwardCtx& c) {
      const Tensor yv = c.output();
      if (GradMode::is_enabled()) c.set(0, mul(c.grad(), mul(yv, sub(1.0, yv))));  // create_graph
      else  // one fused pass: the same arithmetic as the ops, in the same order
        c.set(0, zip_floating(c.grad(), yv, "sigmoid", [](auto g, auto v) { return g * (v * (decltype(v)(1) - v)); }));
    }, Keep::Output);
  return y;
}

Tensor tanh(const Tensor& x) {
  Tensor y = map_kernel(x, "tanh", [](const auto* in, auto* out, std::int64_t n) { kernels::tanh(in, out, n); });
  if (any_requires_grad({&x}))
    record("tanh", {&x}, {&y}, [](BackwardCtx& c) {
      const Tensor yv = c.output();
      if (GradMode::is_enabled()) c.set(0, mul(c.grad(), sub(1.0, mul(yv, yv))));  // create_graph
      else c.set(0, zip_floating(c.grad(), yv, "tanh", [](auto g, auto v) { return g * (decltype(v)(1) - v * v); }));
    }, Keep::Output);
  return y;
}

// NaN propagates, with gradient 1, as PyTorch's (clamp_min(x, 0); threshold_backward zeroes y <= 0 only)
Tensor relu(const Tensor& x) {
  Tensor y = map_floating(x, "relu", [](auto v) { return v <= 0 ? decltype(v)(0) : v; });
  if (any_requires_grad({&x}))
    record("relu", {&x}, {&y}, [](BackwardCtx& c) {
      c.set(0, mul(c.grad(), mask_where(c.output().detach(), [](auto v) { return !(v <= 0); })));
    }, Keep::Output);
  return y;
}

Tensor leaky_relu(const Tensor& x, double slope) {
  Tensor y = map_floating(x, "leaky_relu", [slope](auto v) { return v > 0 ? v : v * static_cast<decltype(v)>(slope); });
  if (any_requires_grad({&x}))
    record("leaky_relu", {&x}, {&y}, [slope, sx = SavedTensor(x)](BackwardCtx& c) {
      const Tensor d = map_floating(sx.get("leaky_relu").detach(), "leaky_relu",
                                    [slope](auto v) { return v > 0 ? decltype(v)(1) : static_cast<decltype(v)>(slope); });
      c.set(0, mul(c.grad(), d));
    });
  return y;
}

Tensor softplus(const Tensor& x, double beta, double threshold) {
  if (!(beta > 0)) fail("softplus: beta must be > 0, got {} for {}", beta, describe(x));
  Tensor y = map_floating(x, "softplus", [beta, threshold](auto v) {
    using T = decltype(v);
    const T bx = v * static_cast<T>(beta);
    return bx > static_cast<T>(threshold) ? v : std::log1p(std::exp(bx)) / static_cast<T>(beta);
  });
  if (any_requires_grad({&x}))
    record("softplus", {&x}, {&y}, [beta, threshold, sx = SavedTensor(x)](BackwardCtx& c) {
      const Tensor xv = sx.get("softplus");
      // d/dx = sigmoid(beta x), written with ops so that it can be differentiated again.
      const Tensor s = sigmoid(mul(xv, beta));
      const Tensor lin = mask_where(xv.detach(), [beta, threshold](auto v) { return v * beta > threshold; });
      c.set(0, mul(c.grad(), add(mul(s, sub(1.0, lin)), lin)));
    });
  return y;
}

Tensor clamp(const Tensor& x, double lo, double hi) {
  // min(max(x, lo), hi) as PyTorch: with lo > hi every value becomes hi; NaN stays NaN
  Tensor y = map_floating(x, "clamp", [lo, hi](auto v) {
    using T = decltype(v);
    const T r = v < static_cast<T>(lo) ? static_cast<T>(lo) : v;
    return r > static_cast<T>(hi) ? static_cast<T>(hi) : r;
  });
  if (any_requires_grad({&x}))
    record("clamp", {&x}, {&y}, [lo, hi, sx = SavedTensor(x)](BackwardCtx& c) {
      const Tensor m = mask_where(sx.get("clamp").detach(), [lo, hi](auto v) {
        return v >= static_cast<decltype(v)>(lo) && v <= static_cast<decltype(v)>(hi);
      });
      c.set(0, mul(c.grad(), m));
    });
  return y;
}

Tensor clamp_min(const Tensor& x, double lo) { return clamp(x, lo, std::numeric_limits<double>::infinity()); }
Tensor clamp_max(const Tensor& x, double hi) { return clamp(x, -std::numeric_limits<double>::infinity(), hi); }

}  // namespace ag
