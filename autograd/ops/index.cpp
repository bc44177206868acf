#include "autograd/ops/index.h"

#include "autograd/factory.h"
#include "autograd/forward_grad.h"
#include "autograd/kernels/index.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/ops/util.h"
#include "autograd/tape.h"

namespace ag {

namespace detail {

Tensor put_rows(const Tensor& g, std::int64_t dim, const std::vector<std::int64_t>& idx, std::int64_t n);
Tensor scatter_add(const Tensor& src, std::int64_t dim, const Tensor& index, const Shape& shape);

/// Rows idx of `dim`;  grad = put_rows(g) (repeated rows add up).
Tensor take_rows(const Tensor& x, std::int64_t dim, const std::vector<std::int64_t>& idx) {
  const Shape& xs = x.shape();
  const auto sp = kernels::split_at(xs, static_cast<std::size_t>(dim));
  Shape out = xs;
  out[static_cast<std::size_t>(dim)] = static_cast<std::int64_t>(idx.size());
  Tensor y = empty(out, x.dtype());
  dispatch_all(x.dtype(),
               [&]<class T>() { kernels::take_rows(x.cdata<T>(), y.cdata<T>(), sp.outer, sp.n, sp.inner, idx); });
  if (any_requires_grad({&x}))
    record("take_rows", {&x}, {&y},
           [dim, idx, n = sp.n](BackwardCtx& c) { c.set(0, put_rows(c.grad(), dim, idx, n)); });
  if (any_tangent({&x}))
    propagate_tangent("take_rows", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, take_rows(c.tangent(0), dim, idx)); });
  return y;
}

/// Zeros with size n along `dim`, g's rows added at idx;  grad = take_rows(g).
Tensor put_rows(const Tensor& g, std::int64_t dim, const std::vector<std::int64_t>& idx, std::int64_t n) {
  Shape out = g.shape();
  out[static_cast<std::size_t>(dim)] = n;
  Tensor y = zeros(out, g.dtype());
  const auto sp = kernels::split_at(out, static_cast<std::size_t>(dim));
  dispatch_floating(g.dtype(), "put_rows", [&]<class T>() {
    kernels::put_rows_add(g.cdata<T>(), y.cdata<T>(), sp.outer, sp.n, sp.inner, idx);
  });
  if (any_requires_grad({&g}))
    record("put_rows", {&g}, {&y}, [dim, idx](BackwardCtx& c) { c.set(0, take_rows(c.grad(), dim, idx)); });
  if (any_tangent({&g}))
    propagate_tangent("put_rows", {&g}, {&y}, [&](JvpCtx& c) { c.set(0, put_rows(c.tangent(0), dim, idx, n)); });
  return y;
}

}  // namespace detail

Tensor cat(const std::vector<Tensor>& xs, std::int64_t dim) {
  if (xs.empty()) fail("cat: expected a non-empty list of tensors");
  const Tensor& first = xs[0];
  first.checked("cat");
  if (first.dim() == 0) fail("cat: zero-dimensional tensor {} cannot be concatenated", describe(first));
  const auto d = normalize_dim(dim, first.dim(), "cat");
  Shape out = first.shape();
  std::int64_t total = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    detail::check_same_dtype(first, x, "cat");
    bool ok = x.dim() == first.dim();
    for (std::int64_t k = 0; ok && k < x.dim(); ++k)
      ok = k == d || x.shape()[static_cast<std::size_t>(k)] == out[static_cast<std::size_t>(k)];
    if (!ok)
      fail("cat: tensor {} is {} but tensor 0 is {} (sizes must match except in dim {})", i, describe(x),
           describe(first), d);
    total += x.shape()[static_cast<std::size_t>(d)];
  }
  out[static_cast<std::size_t>(d)] = total;
  Tensor y = empty(out, first.dtype());
  const auto sp = kernels::split_at(out, static_cast<std::size_t>(d));
  dispatch_all(first.dtype(), "cat", [&]<class T>() {
    T* py = y.cdata<T>();
    std::int64_t at = 0;
    for (const Tensor& x : xs) {
      const auto m = x.shape()[static_cast<std::size_t>(d)];
      const T* px = x.cdata<T>();
      for (std::int64_t o = 0; o < sp.outer; ++o)
        std::memcpy(py + (o * total + at) * sp.inner, px + o * m * sp.inner,
                    static_cast<std::size_t>(m * sp.inner) * sizeof(T));
      at += m;
    }
  });
  if (any_requires_grad(xs)) {
    std::vector<std::int64_t> sizes;
    for (const Tensor& x : xs) sizes.push_back(x.shape()[static_cast<std::size_t>(d)]);
    record("cat", xs, {&y}, [d, sizes](BackwardCtx& c) {
      std::int64_t at = 0;
      for (std::size_t i = 0; i < sizes.size(); ++i) {
        if (c.needs(i)) c.set(i, slice(c.grad(), d, at, at + sizes[i]));
        at += sizes[i];
      }
    });
  }
  if (any_tangent(xs))  // the cat of the tangents (zeros for an input without one)
    propagate_tangent("cat", xs, {&y}, [&](JvpCtx& c) {
      std::vector<Tensor> ts;
      ts.reserve(xs.size());
      for (std::size_t i = 0; i < xs.size(); ++i) ts.push_back(c.tangent_or_zeros(i));
      c.set(0, cat(ts, d));
    });
  return y;
}

Tensor stack(const std::vector<Tensor>& xs, std::int64_t dim) {
  if (xs.empty()) fail("stack: expected a non-empty list of tensors");
  const auto r = xs[0].checked("stack").shape.size();
  if (dim < -static_cast<std::int64_t>(r) - 1 || dim > static_cast<std::int64_t>(r))
    fail("stack: dim {} is out of range for tensors of rank {}", dim, r);
  std::vector<Tensor> parts;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (xs[i].shape() != xs[0].shape())
      fail("stack: tensor {} is {} but tensor 0 is {} (all must have one shape)", i, describe(xs[i]), describe(xs[0]));
    parts.push_back(unsqueeze(xs[i], dim));
  }
  return cat(parts, dim < 0 ? dim + static_cast<std::int64_t>(r) + 1 : dim);
}

namespace {

void check_int64_index(const Tensor& index, const char* op) {
  index.checked(op);
  if (index.dtype() != kInt64) fail("{}: index must be int64, got {}", op, describe(index));
}

// Throws unless `index` can gather from / scatter into a tensor of shape xs along dim d.
void check_gather_index(const Shape& xs, std::int64_t d, const Tensor& index, const char* op) {
  check_int64_index(index, op);
  const Shape& is = index.shape();
  if (is.size() != xs.size())
    fail("{}: index {} must have the rank of the input {}", op, describe(index), shape_str(xs));
  for (std::size_t k = 0; k < xs.size(); ++k)
    if (static_cast<std::int64_t>(k) != d && is[k] > xs[k])
      fail("{}: index {} is larger than the input {} in dim {} (only dim {} may differ freely)", op, describe(index),
           shape_str(xs), k, d);
  const auto n = xs[static_cast<std::size_t>(d)];
  const std::int64_t* p = index.cdata<std::int64_t>();
  for (std::int64_t k = 0; k < index.numel(); ++k)
    if (p[k] < 0 || p[k] >= n)
      fail("{}: index {} at flat position {} is out of range for dim {} of size {} in {}", op, p[k], k, d, n,
           shape_str(xs));
}

}  // namespace

namespace detail {

/// Zeros of `shape` with src added at index along dim;  grad = gather(g, dim, index).
Tensor scatter_add(const Tensor& src, std::int64_t dim, const Tensor& index, const Shape& shape) {
  check_gather_index(shape, dim, index, "scatter_add");
  if (src.checked("scatter_add").shape != index.shape())
    fail("scatter_add: source {} must have the shape of the index {}", describe(src), describe(index));
  Tensor y = zeros(shape, src.dtype());
  dispatch_floating(src.dtype(), "scatter_add", [&]<class T>() {
    kernels::scatter_add(src.cdata<T>(), index.cdata<std::int64_t>(), index.shape(), y.cdata<T>(), shape,
                         static_cast<std::size_t>(dim));
  });
  if (any_requires_grad({&src}))
    record("scatter_add", {&src}, {&y},
           [dim, si = SavedTensor(index)](BackwardCtx& c) { c.set(0, gather(c.grad(), dim, si.get("scatter_add"))); });
  if (any_tangent({&src}))
    propagate_tangent("scatter_add", {&src}, {&y},
                      [&](JvpCtx& c) { c.set(0, scatter_add(c.tangent(0), dim, index, shape)); });
  return y;
}

}  // namespace detail

Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index) {
  x.checked("index_select");
  check_int64_index(index, "index_select");
  if (x.dim() == 0) fail("index_select: cannot index a 0-d tensor {}", describe(x));
  if (index.dim() != 1) fail("index_select: index must be 1-D, got {}", describe(index));
  const auto d = normalize_dim(dim, x.dim(), "index_select");
  const auto n = x.shape()[static_cast<std::size_t>(d)];
  const std::int64_t* p = index.cdata<std::int64_t>();
  std::vector<std::int64_t> idx(p, p + index.numel());
  for (std::size_t k = 0; k < idx.size(); ++k)
    if (idx[k] < 0 || idx[k] >= n)
      fail("index_select: index {} at position {} is out of range for dim {} of size {} in {}", idx[k], k, dim, n,
           describe(x));
  return detail::take_rows(x, d, idx);
}

Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index) {
  x.checked("gather");
  check_int64_index(index, "gather");
  const auto d = normalize_dim(dim, x.dim(), "gather");
  if (x.dim() == 0) {
    if (index.dim() != 0) fail("gather: index {} must have the rank of the input {}", describe(index), describe(x));
    return reshape(gather(reshape(x, {1}), 0, reshape(index, {1})), {});
  }
  check_gather_index(x.shape(), d, index, "gather");
  Tensor y = empty(index.shape(), x.dtype());
  dispatch_all(x.dtype(), "gather", [&]<class T>() {
    kernels::gather(x.cdata<T>(), x.shape(), index.cdata<std::int64_t>(), y.cdata<T>(), index.shape(),
                    static_cast<std::size_t>(d));
  });
  if (any_requires_grad({&x}))
    record("gather", {&x}, {&y}, [d, si = SavedTensor(index), xs = x.shape()](BackwardCtx& c) {
      c.set(0, detail::scatter_add(c.grad(), d, si.get("gather"), xs));
    });
  if (any_tangent({&x}))
    propagate_tangent("gather", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, gather(c.tangent(0), d, index)); });
  return y;
}

}  // namespace ag
