#include "autograd/ops/reduce.h"

#include "autograd/forward_grad.h"
#include "autograd/kernels/reduce.h"
#include "autograd/ops/arith.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/ops/util.h"
#include "autograd/tape.h"

namespace ag {

namespace {

/// A validated reduction over one dim: the normalised dim, the [outer, n, inner] split, the
/// result shape (0-d input: dim 0 or -1, result 0-d).
struct DimReduce {
  std::int64_t d = 0;
  kernels::Split3 sp;
  Shape out;
};

void check_floating(const Tensor& x, const char* op) {
  if (!is_floating(x.checked(op).dtype))
    fail("{}: expected a floating tensor (float32 or float64), got {}", op, describe(x));
}

DimReduce prepare(const Tensor& x, std::int64_t dim, bool keepdim, const char* op) {
  check_floating(x, op);
  DimReduce r;
  r.d = normalize_dim(dim, x.dim(), op);
  r.sp = kernels::split_at(x.shape(), static_cast<std::size_t>(r.d));
  if (r.sp.n == 0) fail("{}: cannot reduce over the empty dim {} of {}", op, dim, describe(x));
  r.out = x.shape();
  if (!r.out.empty()) {
    if (keepdim) r.out[static_cast<std::size_t>(r.d)] = 1;
    else r.out.erase(r.out.begin() + r.d);
  }
  return r;
}

/// g reshaped to broadcast against the input of a reduction over d.
Tensor unreduce(const Tensor& g, std::int64_t d, bool keepdim, std::int64_t rank) {
  return keepdim || rank == 0 ? g : unsqueeze(g, d);
}

/// The even split of a gradient between the elements of x equal to the extreme y (not recorded).
/// As PyTorch: max()/min() split it between the NaNs of a NaN extreme (evenly_distribute_backward),
/// amax/amin give a NaN extreme no tie, hence NaN gradients over its row (mask / count = 0/0).
Tensor tie_mask(const Tensor& x, const Tensor& y, const kernels::Split3& sp, bool nan_ties) {
  Tensor m = empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), "tie_mask", [&]<class T>() {
    kernels::tie_mask(x.cdata<T>(), y.cdata<T>(), m.cdata<T>(), sp.outer, sp.n, sp.inner, nan_ties);
  });
  return m;
}

/// 1 at the positions of x (of shape `in`) that idx picks along the split's dim, else 0 (not recorded).
Tensor one_hot(const Tensor& idx, const Shape& in, Dtype dtype, const kernels::Split3& sp, const char* op) {
  Tensor m = empty(in, dtype);
  dispatch_floating(dtype, op, [&]<class T>() {
    kernels::one_hot_dim(idx.cdata<std::int64_t>(), m.cdata<T>(), sp.outer, sp.n, sp.inner);
  });
  return m;
}

template <bool Max>
ValuesIndices extreme_dim(const Tensor& x, std::int64_t dim, bool keepdim, const char* op) {
  const DimReduce r = prepare(x, dim, keepdim, op);
  ValuesIndices out{empty(r.out, x.dtype()), empty(r.out, kInt64)};
  dispatch_floating(x.dtype(), op, [&]<class T>() {
    kernels::extreme_dim<Max>(x.cdata<T>(), out.values.cdata<T>(), out.indices.cdata<std::int64_t>(), r.sp.outer,
                              r.sp.n, r.sp.inner);
  });
  if (any_requires_grad({&x}))
    // named apart from max()/min() of a whole tensor, as libtorch's MaxBackward0 and MaxBackward1
    record(Max ? "max_dim" : "min_dim", {&x}, {&out.values},
           [r, keepdim, in = x.shape(), si = SavedTensor(out.indices), op](BackwardCtx& c) {
             const Tensor m = one_hot(si.get(op), in, c.grad().dtype(), r.sp, op);
             c.set(0, mul(unreduce(c.grad(), r.d, keepdim, static_cast<std::int64_t>(in.size())), m));
           });
  if (any_tangent({&x}))  // the tangent at the index the value came from (the VJP's one-hot), as torch
    propagate_tangent(Max ? "max_dim" : "min_dim", {&x}, {&out.values}, [&](JvpCtx& c) {
      const Tensor m = one_hot(out.indices, x.shape(), x.dtype(), r.sp, op);
      c.set(0, sum(mul(c.tangent(0), m), r.d, keepdim));
    });
  return out;
}

template <bool Max>
Tensor extreme_all(const Tensor& x, const char* op) {
  check_floating(x, op);
  if (x.numel() == 0) fail("{}: cannot reduce an empty tensor {} (it has no identity)", op, describe(x));
  Tensor y = empty({}, x.dtype());
  dispatch_floating(x.dtype(), op,
                    [&]<class T>() { *y.cdata<T>() = kernels::extreme_all<Max>(x.cdata<T>(), x.numel()); });
  if (any_requires_grad({&x}))
    record(
        op, {&x}, {&y},
        [sx = SavedTensor(x), op](BackwardCtx& c) {
          const Tensor xv = sx.get(op);
          c.set(0, mul(c.grad(), tie_mask(xv, c.output(), {1, xv.numel(), 1}, /*nan_ties=*/true)));
        },
        Keep::Output);
  if (any_tangent({&x}))  // the mean of the tangents at the ties (the VJP's even split, NaNs tied)
    propagate_tangent(op, {&x}, {&y}, [&](JvpCtx& c) {
      c.set(0, sum(mul(c.tangent(0), tie_mask(x, y, {1, x.numel(), 1}, /*nan_ties=*/true))));
    });
  return y;
}

template <bool Max>
Tensor extreme_values(const Tensor& x, std::int64_t dim, bool keepdim, const char* op) {
  const DimReduce r = prepare(x, dim, keepdim, op);
  Tensor y = empty(r.out, x.dtype());
  dispatch_floating(x.dtype(), op, [&]<class T>() {
    kernels::extreme_dim<Max>(x.cdata<T>(), y.cdata<T>(), nullptr, r.sp.outer, r.sp.n, r.sp.inner);
  });
  if (any_requires_grad({&x}))
    record(
        op, {&x}, {&y},
        [r, keepdim, sx = SavedTensor(x), op](BackwardCtx& c) {
          const Tensor xv = sx.get(op);
          c.set(0, mul(unreduce(c.grad(), r.d, keepdim, xv.dim()), tie_mask(xv, c.output(), r.sp, /*nan_ties=*/false)));
        },
        Keep::Output);
  if (any_tangent({&x}))  // the mean of the tangents at the ties, as the VJP splits
    propagate_tangent(op, {&x}, {&y}, [&](JvpCtx& c) {
      c.set(0, sum(mul(c.tangent(0), tie_mask(x, y, r.sp, /*nan_ties=*/false)), r.d, keepdim));
    });
  return y;
}

}  // namespace

Tensor sum(const Tensor& x) {
  // an integer or bool tensor sums to an int64 count, as libtorch's (never differentiable)
  if (x.defined() && !is_floating(x.dtype())) {
    // summed modulo 2^64 (unsigned: no overflow UB), so an overflowing sum wraps as libtorch's does
    std::uint64_t total = 0;
    dispatch_every(x.dtype(), [&]<class T>() {
      const T* p = x.cdata<T>();
      for (std::int64_t i = 0, n = x.numel(); i < n; ++i)
        total += static_cast<std::uint64_t>(static_cast<std::int64_t>(p[i]));
    });
    Tensor y = empty({}, kInt64);
    *y.cdata<std::int64_t>() = static_cast<std::int64_t>(total);
    return y;
  }
  check_floating(x, "sum");
  const auto& im = *x.impl();
  Tensor y = empty({}, im.dtype);
  dispatch_floating(im.dtype, "sum", [&]<class T>() { *y.cdata<T>() = kernels::sum_all(x.cdata<T>(), im.numel); });
  if (any_requires_grad({&x}))
    record("sum", {&x}, {&y}, [in = im.shape](BackwardCtx& c) { c.set(0, expand(c.grad(), in)); });
  if (any_tangent({&x})) propagate_tangent("sum", {&x}, {&y}, [](JvpCtx& c) { c.set(0, sum(c.tangent(0))); });
  return y;
}

Tensor sum(const Tensor& x, std::int64_t dim, bool keepdim) {
  check_floating(x, "sum");
  const auto& im = *x.impl();
  const auto d = normalize_dim(dim, x.dim(), "sum");
  if (x.dim() == 0) return sum(x);
  const auto sp = kernels::split_at(im.shape, static_cast<std::size_t>(d));
  Shape out = im.shape;
  if (keepdim) out[static_cast<std::size_t>(d)] = 1;
  else out.erase(out.begin() + d);
  Tensor y = empty(out, im.dtype);
  dispatch_floating(im.dtype, "sum",
                    [&]<class T>() { kernels::sum_dim(x.cdata<T>(), y.cdata<T>(), sp.outer, sp.n, sp.inner); });
  if (any_requires_grad({&x}))
    record("sum_dim", {&x}, {&y}, [in = im.shape, d, keepdim](BackwardCtx& c) {
      c.set(0, expand(keepdim ? c.grad() : unsqueeze(c.grad(), d), in));
    });
  if (any_tangent({&x}))
    propagate_tangent("sum_dim", {&x}, {&y}, [d, keepdim](JvpCtx& c) { c.set(0, sum(c.tangent(0), d, keepdim)); });
  return y;
}

// Over no element the mean is 0/0 = NaN, as in PyTorch (the sum is 0). One node ("mean", as
// libtorch's MeanBackward0) whose VJP is the one of sum then division: expand(g / n).
Tensor mean(const Tensor& x) {
  check_floating(x, "mean");
  const auto n = static_cast<double>(x.checked("mean").numel);
  Tensor y;
  {
    NoGradGuard no_grad;
    detail::FwSuspend no_fw;  // one op: its tangent comes from its own rule below
    y = div(sum(x), n);
  }
  if (any_requires_grad({&x}))
    record("mean", {&x}, {&y}, [in = x.shape(), n](BackwardCtx& c) { c.set(0, expand(div(c.grad(), n), in)); });
  if (any_tangent({&x})) propagate_tangent("mean", {&x}, {&y}, [](JvpCtx& c) { c.set(0, mean(c.tangent(0))); });
  return y;
}

Tensor mean(const Tensor& x, std::int64_t dim, bool keepdim) {
  const auto d = normalize_dim(dim, x.checked("mean").shape.size(), "mean");
  const auto n = static_cast<double>(x.dim() == 0 ? 1 : x.shape()[static_cast<std::size_t>(d)]);
  Tensor y;
  {
    NoGradGuard no_grad;
    detail::FwSuspend no_fw;  // one op: its tangent comes from its own rule below
    y = div(sum(x, dim, keepdim), n);
  }
  if (any_requires_grad({&x})) {
    if (x.dim() == 0) {
      record("mean", {&x}, {&y}, [](BackwardCtx& c) { c.set(0, div(c.grad(), 1.0)); });
    } else {
      record("mean_dim", {&x}, {&y}, [in = x.shape(), d, keepdim, n](BackwardCtx& c) {
        const Tensor g = div(c.grad(), n);
        c.set(0, expand(keepdim ? g : unsqueeze(g, d), in));
      });
    }
  }
  if (any_tangent({&x}))
    propagate_tangent(x.dim() == 0 ? "mean" : "mean_dim", {&x}, {&y},
                      [d, keepdim](JvpCtx& c) { c.set(0, mean(c.tangent(0), d, keepdim)); });
  return y;
}

ValuesIndices max(const Tensor& x, std::int64_t dim, bool keepdim) { return extreme_dim<true>(x, dim, keepdim, "max"); }
ValuesIndices min(const Tensor& x, std::int64_t dim, bool keepdim) {
  return extreme_dim<false>(x, dim, keepdim, "min");
}
Tensor max(const Tensor& x) { return extreme_all<true>(x, "max"); }
Tensor min(const Tensor& x) { return extreme_all<false>(x, "min"); }
Tensor amax(const Tensor& x, std::int64_t dim, bool keepdim) { return extreme_values<true>(x, dim, keepdim, "amax"); }
Tensor amin(const Tensor& x, std::int64_t dim, bool keepdim) { return extreme_values<false>(x, dim, keepdim, "amin"); }

Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim) {
  const DimReduce r = prepare(x, dim, keepdim, "argmax");
  Tensor idx = empty(r.out, kInt64);
  dispatch_floating(x.dtype(), "argmax", [&]<class T>() {
    std::vector<T> values(static_cast<std::size_t>(r.sp.outer * r.sp.inner));
    kernels::extreme_dim<true>(x.cdata<T>(), values.data(), idx.cdata<std::int64_t>(), r.sp.outer, r.sp.n, r.sp.inner);
  });
  return idx;
}

}  // namespace ag
