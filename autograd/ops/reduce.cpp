#include "autograd/ops/reduce.h"

#include "autograd/kernels/reduce.h"
#include "autograd/ops/arith.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/ops/util.h"
#include "autograd/tape.h"

namespace ag {

Tensor sum(const Tensor& x) {
  const auto& im = x.checked("sum");
  Tensor y = empty({}, im.dtype);
  dispatch_floating(im.dtype, "sum", [&]<class T>() { *y.data<T>() = kernels::sum_all(x.data<T>(), im.numel); });
  if (any_requires_grad({&x}))
    record("sum", {&x}, {&y}, [in = im.shape](BackwardCtx& c) { c.set(0, expand(c.grad(), in)); });
  return y;
}

Tensor sum(const Tensor& x, std::int64_t dim, bool keepdim) {
  const auto& im = x.checked("sum");
  const auto d = normalize_dim(dim, x.dim(), "sum");
  if (x.dim() == 0) return sum(x);
  const auto sp = kernels::split_at(im.shape, static_cast<std::size_t>(d));
  Shape out = im.shape;
  if (keepdim) out[static_cast<std::size_t>(d)] = 1;
  else out.erase(out.begin() + d);
  Tensor y = empty(out, im.dtype);
  dispatch_floating(im.dtype, "sum", [&]<class T>() {
    kernels::sum_dim(x.data<T>(), y.data<T>(), sp.outer, sp.n, sp.inner);
  });
  if (any_requires_grad({&x}))
    record("sum_dim", {&x}, {&y}, [in = im.shape, d, keepdim](BackwardCtx& c) {
      c.set(0, expand(keepdim ? c.grad() : unsqueeze(c.grad(), d), in));
    });
  return y;
}

Tensor mean(const Tensor& x) {
  const auto n = x.checked("mean").numel;
  if (n == 0) fail("mean: cannot take the mean of an empty tensor {}", describe(x));
  return div(sum(x), static_cast<double>(n));
}

Tensor mean(const Tensor& x, std::int64_t dim, bool keepdim) {
  const auto d = normalize_dim(dim, x.checked("mean").shape.size(), "mean");
  const auto n = x.dim() == 0 ? 1 : x.shape()[static_cast<std::size_t>(d)];
  if (n == 0) fail("mean: cannot take the mean over an empty dim {} of {}", dim, describe(x));
  return div(sum(x, dim, keepdim), static_cast<double>(n));
}

}  // namespace ag
