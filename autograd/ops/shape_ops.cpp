#include "autograd/ops/shape_ops.h"

#include <algorithm>

#include "autograd/factory.h"
#include "autograd/ops/index.h"
#include "autograd/ops/util.h"
#include "autograd/tape.h"

namespace ag {

namespace {

Shape infer_shape(const Tensor& x, const Shape& shape, const char* op) {
  Shape out = shape;
  std::int64_t known = 1, infer = -1;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      if (infer >= 0) fail("{}: only one dim can be -1, got {} for {}", op, shape_str(shape), describe(x));
      infer = static_cast<std::int64_t>(i);
    } else if (out[i] < 0) {
      fail("{}: invalid size {} in shape {} for {}", op, out[i], shape_str(shape), describe(x));
    } else if (__builtin_mul_overflow(known, out[i], &known)) {
      fail("{}: shape {} has more elements than int64 can count (input {})", op, shape_str(shape), describe(x));
    }
  }
  if (infer >= 0) {
    if (known == 0 || x.numel() % known != 0)
      fail("{}: shape {} is invalid for input {} ({} elements)", op, shape_str(shape), describe(x), x.numel());
    out[static_cast<std::size_t>(infer)] = x.numel() / known;
  }
  if (shape_numel(out) != x.numel())
    fail("{}: shape {} is invalid for input {} ({} elements)", op, shape_str(shape), describe(x), x.numel());
  return out;
}

Tensor copy_permuted(const Tensor& x, const Shape& perm) {
  const Shape& xs = x.shape();
  const Shape xst = contiguous_strides(xs);
  Shape out(perm.size()), st(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) {
    out[i] = xs[static_cast<std::size_t>(perm[i])];
    st[i] = xst[static_cast<std::size_t>(perm[i])];
  }
  Tensor y = empty(out, x.dtype());
  dispatch_all(x.dtype(), [&]<class T>() { kernels::strided_copy(x.data<T>(), st, y.data<T>(), out); });
  return y;
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  x.checked("reshape");
  const Shape out = infer_shape(x, shape, "reshape");
  Tensor y = alias_with_shape(x, out);
  if (any_requires_grad({&x}))
    record("reshape", {&x}, {&y}, [in = x.shape()](BackwardCtx& c) { c.set(0, reshape(c.grad(), in)); });
  return y;
}

Tensor view(const Tensor& x, const Shape& shape) { return reshape(x, shape); }

Tensor flatten(const Tensor& x, std::int64_t start_dim, std::int64_t end_dim) {
  const auto r = x.dim();
  if (r == 0) return reshape(x, {1});
  const auto s = normalize_dim(start_dim, r, "flatten"), e = normalize_dim(end_dim, r, "flatten");
  if (s > e) fail("flatten: start_dim {} comes after end_dim {} for {}", start_dim, end_dim, describe(x));
  Shape out;
  std::int64_t merged = 1;
  for (std::int64_t i = 0; i < r; ++i) {
    const auto d = x.shape()[static_cast<std::size_t>(i)];
    if (i < s || i > e) out.push_back(d);
    else merged *= d;
    if (i == e) out.push_back(merged);
  }
  return reshape(x, out);
}

Tensor squeeze(const Tensor& x) {
  Shape out;
  for (auto d : x.shape())
    if (d != 1) out.push_back(d);
  return reshape(x, out);
}

Tensor squeeze(const Tensor& x, std::int64_t dim) {
  const auto d = normalize_dim(dim, x.dim(), "squeeze");
  if (x.dim() == 0) return x;
  Shape out = x.shape();
  if (out[static_cast<std::size_t>(d)] != 1) return x;
  out.erase(out.begin() + d);
  return reshape(x, out);
}

Tensor unsqueeze(const Tensor& x, std::int64_t dim) {
  const auto r = x.dim();
  if (dim < -r - 1 || dim > r)
    fail("unsqueeze: dim {} is out of range for {} (expected [{}, {}])", dim, describe(x), -r - 1, r);
  const auto d = dim < 0 ? dim + r + 1 : dim;
  Shape out = x.shape();
  out.insert(out.begin() + d, 1);
  return reshape(x, out);
}

Tensor permute(const Tensor& x, const Shape& dims) {
  const auto r = x.dim();
  if (static_cast<std::int64_t>(dims.size()) != r) fail("permute: {} dims given for {}", dims.size(), describe(x));
  Shape perm(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (std::size_t i = 0; i < dims.size(); ++i) {
    perm[i] = normalize_dim(dims[i], r, "permute");
    if (seen[static_cast<std::size_t>(perm[i])])
      fail("permute: repeated dim in {} for {}", shape_str(dims), describe(x));
    seen[static_cast<std::size_t>(perm[i])] = true;
  }
  Tensor y = copy_permuted(x, perm);
  if (any_requires_grad({&x})) {
    Shape inv(perm.size());
    for (std::size_t i = 0; i < perm.size(); ++i) inv[static_cast<std::size_t>(perm[i])] = static_cast<std::int64_t>(i);
    record("permute", {&x}, {&y}, [inv](BackwardCtx& c) { c.set(0, permute(c.grad(), inv)); });
  }
  return y;
}

Tensor transpose(const Tensor& x, std::int64_t d0, std::int64_t d1) {
  const auto r = x.checked("transpose").shape.size();
  const auto a = normalize_dim(d0, static_cast<std::int64_t>(r), "transpose");
  const auto b = normalize_dim(d1, static_cast<std::int64_t>(r), "transpose");
  if (r == 0) return x;
  Shape perm(r);
  for (std::size_t i = 0; i < r; ++i) perm[i] = static_cast<std::int64_t>(i);
  std::swap(perm[static_cast<std::size_t>(a)], perm[static_cast<std::size_t>(b)]);
  if (a == b) return x;
  Tensor y = copy_permuted(x, perm);
  if (any_requires_grad({&x}))
    record("transpose", {&x}, {&y}, [a, b](BackwardCtx& c) { c.set(0, transpose(c.grad(), a, b)); });
  return y;
}

Tensor t(const Tensor& x) {
  if (x.dim() > 2) fail("t: expects a tensor of rank <= 2, got {}; use transpose(x, d0, d1)", describe(x));
  return x.dim() < 2 ? x : transpose(x, 0, 1);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  const Shape& xs = x.checked("expand").shape;
  if (shape.size() < xs.size()) fail("expand: target shape {} has fewer dims than {}", shape_str(shape), describe(x));
  Shape out = shape;
  const std::size_t off = shape.size() - xs.size();
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i < off) {
      if (shape[i] < 0)
        fail("expand: -1 is not allowed in a new leading dim: {} for {}", shape_str(shape), describe(x));
      continue;
    }
    const auto d = xs[i - off];
    if (shape[i] < -1) fail("expand: invalid size {} in {} for {}", shape[i], shape_str(shape), describe(x));
    if (shape[i] == -1) out[i] = d;
    else if (d != 1 && d != shape[i])
      fail("expand: {} cannot be expanded to {} (dim {}: {} vs {})", describe(x), shape_str(shape), i, d, shape[i]);
  }
  if (out == xs) return x;
  Tensor y = empty(out, x.dtype(), "expand");
  dispatch_all(x.dtype(), [&]<class T>() { kernels::broadcast_to(x.data<T>(), xs, y.data<T>(), out); });
  if (any_requires_grad({&x}))
    record("expand", {&x}, {&y}, [in = xs](BackwardCtx& c) { c.set(0, sum_to(c.grad(), in)); });
  return y;
}

std::vector<Tensor> unbind(const Tensor& x, std::int64_t dim) {
  const auto r = x.checked("unbind").shape.size();
  if (r == 0) fail("unbind: expects a tensor of rank >= 1, got {}", describe(x));
  const auto d = static_cast<std::size_t>(normalize_dim(dim, static_cast<std::int64_t>(r), "unbind"));
  const Shape& xs = x.shape();
  const std::int64_t n = xs[d];
  Shape part = xs;
  part.erase(part.begin() + static_cast<std::ptrdiff_t>(d));
  const std::int64_t inner = shape_numel(Shape(xs.begin() + static_cast<std::ptrdiff_t>(d) + 1, xs.end()));
  const std::int64_t outer = shape_numel(Shape(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(d)));
  std::vector<Tensor> ys;
  ys.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    if (d == 0) {
      ys.push_back(alias_with_shape(x, part));
      ys.back().impl()->offset += i * inner;
      continue;
    }
    ys.push_back(empty(part, x.dtype()));
    dispatch_all(x.dtype(), [&]<class T>() {
      const T* src = x.data<T>() + i * inner;
      T* dst = ys.back().data<T>();
      for (std::int64_t o = 0; o < outer; ++o)
        std::copy(src + o * n * inner, src + (o * n + 1) * inner, dst + o * inner);
    });
  }
  if (n > 0 && any_requires_grad({&x}))
    record("unbind", {&x}, ys, [n, d = static_cast<std::int64_t>(d), part, dt = x.dtype()](BackwardCtx& c) {
      std::vector<Tensor> gs;
      for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i)
        gs.push_back(c.grad(i).defined() ? c.grad(i) : zeros(part, dt));
      c.set(0, stack(gs, d));
    });
  return ys;
}

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
  dispatch_floating(x.dtype(), "sum_to", [&]<class T>() { kernels::sum_to(x.data<T>(), xs, y.data<T>(), shape); });
  if (any_requires_grad({&x}))
    record("sum_to", {&x}, {&y}, [in = xs](BackwardCtx& c) { c.set(0, expand(c.grad(), in)); });
  return y;
}

}  // namespace ag
