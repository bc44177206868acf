#include "autograd/ops/shape_ops.h"

#include "autograd/factory.h"
#include "autograd/forward_grad.h"
#include "autograd/ops/index.h"
#include "autograd/ops/util.h"
#include "autograd/tape.h"

namespace ag {

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  for (auto d : shape)
    if (d < 0) fail("broadcast_to: negative size in {} for {}", shape_str(shape), describe(x));
  return expand(x, shape);
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  const Shape& xs = x.checked("sum_to").shape;
  if (xs == shape) return x;
  if (broadcast_shapes(shape, xs, "sum_to") != xs)
    fail("sum_to: {} cannot be summed to shape {}", describe(x), shape_str(shape));
  Tensor y = empty(shape, x.dtype());
  dispatch_floating(x.dtype(), "sum_to", [&]<class T>() { kernels::sum_to(x.cdata<T>(), xs, y.cdata<T>(), shape); });
  if (any_requires_grad({&x}))
    record("sum_to", {&x}, {&y}, [in = xs](BackwardCtx& c) { c.set(0, expand(c.grad(), in)); });
  if (any_tangent({&x}))
    propagate_tangent("sum_to", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, sum_to(c.tangent(0), shape)); });
  return y;
}

}  // namespace ag
