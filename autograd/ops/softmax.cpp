#include "autograd/ops/softmax.h"

#include "autograd/forward_grad.h"
#include "autograd/kernels/elementwise.h"
#include "autograd/kernels/softmax.h"
#include "autograd/ops/arith.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/ops/unary.h"
#include "autograd/tape.h"

namespace ag {

namespace {

using kernels::SoftmaxKind;

/// Runs the kernel over dim `d` of x (a 0-d x is a slice of one element) into a tensor of shape `out`.
template <SoftmaxKind K>
Tensor run(const Tensor& x, std::int64_t d, const Shape& out, const char* op) {
  const auto sp = kernels::split_at(x.shape(), static_cast<std::size_t>(d));
  Tensor y = empty(out, x.dtype());
  dispatch_floating(x.dtype(), op,
                    [&]<class T>() { kernels::softmax_dim<K>(x.cdata<T>(), y.cdata<T>(), sp.outer, sp.n, sp.inner); });
  return y;
}

std::int64_t checked_dim(const Tensor& x, std::int64_t dim, const char* op) {
  if (!is_floating(x.checked(op).dtype))
    fail("{}: expected a floating tensor (float32 or float64), got {}", op, describe(x));
  return normalize_dim(dim, x.dim(), op);
}

}  // namespace

Tensor logsumexp(const Tensor& x, std::int64_t dim, bool keepdim) {
  const auto d = checked_dim(x, dim, "logsumexp");
  Shape out = x.shape();
  if (!out.empty()) {
    if (keepdim) out[static_cast<std::size_t>(d)] = 1;
    else out.erase(out.begin() + d);
  }
  Tensor y = run<SoftmaxKind::LogSumExp>(x, d, out, "logsumexp");
  if (any_requires_grad({&x}))
    record("logsumexp", {&x}, {&y}, [d, keep = keepdim || x.dim() == 0, sx = SavedTensor(x)](BackwardCtx& c) {
      // softmax(x) rather than exp(x - y): y may have absorbed log(count) by rounding (y = -1e30 for
      // [-1e30, -1e30]), where exp(x - y) would give [1, 1] instead of [1/2, 1/2].
      c.set(0, mul(keep ? c.grad() : unsqueeze(c.grad(), d), softmax(sx.get("logsumexp"), d)));
    });
  if (any_tangent({&x}))  // sum(t softmax(x)) over d
    propagate_tangent("logsumexp", {&x}, {&y},
                      [&](JvpCtx& c) { c.set(0, sum(mul(c.tangent(0), softmax(x, d)), d, keepdim || x.dim() == 0)); });
  return y;
}

Tensor softmax(const Tensor& x, std::int64_t dim) {
  const auto d = checked_dim(x, dim, "softmax");
  Tensor y = run<SoftmaxKind::Softmax>(x, d, x.shape(), "softmax");
  if (any_requires_grad({&x}))
    record(
        "softmax", {&x}, {&y},
        [d](BackwardCtx& c) {
          const Tensor yv = c.output();
          const Tensor& g = c.grad();
          c.set(0, mul(yv, sub(g, sum(mul(g, yv), d, true))));
        },
        Keep::Output);
  if (any_tangent({&x}))  // y (t - sum(t y)), the same form as the VJP (the Jacobian is symmetric)
    propagate_tangent("softmax", {&x}, {&y}, [&](JvpCtx& c) {
      const Tensor& t = c.tangent(0);
      c.set(0, mul(y, sub(t, sum(mul(t, y), d, true))));
    });
  return y;
}

Tensor log_softmax(const Tensor& x, std::int64_t dim) {
  const auto d = checked_dim(x, dim, "log_softmax");
  Tensor y = run<SoftmaxKind::LogSoftmax>(x, d, x.shape(), "log_softmax");
  if (any_requires_grad({&x}))
    record(
        "log_softmax", {&x}, {&y},
        [d](BackwardCtx& c) {
          const Tensor& g = c.grad();
          c.set(0, sub(g, mul(exp(c.output()), sum(g, d, true))));
        },
        Keep::Output);
  if (any_tangent({&x}))  // t - sum(t softmax(x)) over d
    propagate_tangent("log_softmax", {&x}, {&y}, [&](JvpCtx& c) {
      const Tensor& t = c.tangent(0);
      c.set(0, sub(t, sum(mul(t, exp(y)), d, true)));
    });
  return y;
}

}  // namespace ag
