// View ops: each returns a tensor sharing its input's storage (see Note: views in tensor.h), computed
// from the input's geometry (sizes, strides, storage offset), and records its VJP like any op.
// Gradients of views that pick elements (select, slice, narrow, diagonal, unfold, as_strided) go
// back through one helper, detail::strided_scatter: the same geometry applied to the row-major
// layout of the input's shape, with every element of g added where the view reads it.
// Forward mode: the tangent of a view is the same view op applied to the input's tangent (JVP next
// to each VJP); it shares the tangent's storage, which is safe since tangents are never written in
// place (Note: forward mode in forward_grad.h).
#include <algorithm>
#include <cstring>
#include <optional>

#include "autograd/factory.h"
#include "autograd/forward_grad.h"
#include "autograd/ops/index.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/ops/util.h"
#include "autograd/tape.h"

namespace ag {

namespace {

/// Sizes, strides (elements) and storage offset of a tensor or of a view to be made.
struct Geometry {
  Shape sizes, strides;
  std::int64_t offset = 0;
};

Geometry geometry_of(const Tensor& x) {
  const auto& im = *x.impl();
  return {im.shape, im.strides(), im.offset};
}
/// The geometry the same view op would give on a row-major tensor of x's shape at offset 0 (what
/// its backward scatters into).
Geometry logical_of(const Tensor& x) { return {x.shape(), contiguous_strides(x.shape()), 0}; }

Tensor view_of(const Tensor& x, const Geometry& g) { return make_view(x, g.sizes, g.strides, g.offset); }

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

/// Strides that give `shape` over the elements of (sizes, strides) without moving any, if such
/// exist (libtorch's rule for view): each run of input dims that is contiguous in memory may be
/// split or merged freely; otherwise nullopt.
std::optional<Shape> view_strides(const Shape& sizes, const Shape& strides, const Shape& shape) {
  if (shape_numel(sizes) == 0) return sizes == shape ? strides : contiguous_strides(shape);
  Shape out(shape.size(), 1);
  if (sizes.empty()) return contiguous_strides(shape);  // a 0-d tensor: every size in shape is 1
  auto vd = static_cast<std::int64_t>(shape.size()) - 1;
  std::int64_t chunk = strides.back(), tensor_n = 1, view_n = 1;
  for (auto td = static_cast<std::int64_t>(sizes.size()) - 1; td >= 0; --td) {
    const auto t = static_cast<std::size_t>(td);
    tensor_n *= sizes[t];
    // the end of a contiguous run: the first dim, or a dim before which memory jumps
    if (td == 0 || (sizes[t - 1] != 1 && strides[t - 1] != tensor_n * chunk)) {
      while (vd >= 0 && (view_n < tensor_n || shape[static_cast<std::size_t>(vd)] == 1)) {
        out[static_cast<std::size_t>(vd)] = view_n * chunk;
        view_n *= shape[static_cast<std::size_t>(vd)];
        --vd;
      }
      if (view_n != tensor_n) return std::nullopt;
      if (td > 0) {
        chunk = strides[t - 1];
        tensor_n = 1;
        view_n = 1;
      }
    }
  }
  if (vd != -1) return std::nullopt;
  return out;
}

/// Records a view op whose VJP scatters g back through the same geometry on x's row-major layout.
void record_scatter(const char* name, const Tensor& x, Tensor& y, Geometry logical) {
  record(name, {&x}, {&y}, [in = x.shape(), lg = std::move(logical)](BackwardCtx& c) {
    c.set(0, detail::strided_scatter(c.grad(), in, lg.sizes, lg.strides, lg.offset));
  });
}

/// Propagates x's tangent to the view y as `view(tangent)` (the same view op on the tangent).
template <class F>
void view_tangent(const char* name, const Tensor& x, Tensor& y, F view) {
  if (any_tangent({&x})) propagate_tangent(name, {&x}, {&y}, [&](JvpCtx& c) { c.set(0, view(c.tangent(0))); });
}

Geometry select_geometry(Geometry g, std::size_t d, std::int64_t i) {
  g.offset += i * g.strides[d];
  g.sizes.erase(g.sizes.begin() + static_cast<std::ptrdiff_t>(d));
  g.strides.erase(g.strides.begin() + static_cast<std::ptrdiff_t>(d));
  return g;
}

Geometry slice_geometry(Geometry g, std::size_t d, std::int64_t start, std::int64_t len, std::int64_t step) {
  g.offset += start * g.strides[d];
  g.sizes[d] = len;
  if (len > 1) g.strides[d] *= step;  // len > 1 bounds step by the size: no overflow
  return g;
}

}  // namespace

namespace detail {

Tensor strided_scatter(const Tensor& g, const Shape& shape, const Shape& sizes, const Shape& strides,
                       std::int64_t offset) {
  const auto& ig = g.dense("strided_scatter");
  Tensor y = zeros(shape, ig.dtype);
  if (ig.numel > 0)
    dispatch_floating(ig.dtype, "strided_scatter", [&]<class T>() {
      kernels::strided_add(ig.data_unchecked<T>(), y.data<T>() + offset, strides, sizes);
    });
  if (any_requires_grad({&g}))
    record("strided_scatter", {&g}, {&y}, [sizes, strides, offset](BackwardCtx& c) {
      c.set(0, as_strided(c.grad().contiguous(), sizes, strides, c.grad().storage_offset() + offset));
    });
  if (any_tangent({&g}))  // linear in g
    propagate_tangent("strided_scatter", {&g}, {&y},
                      [&](JvpCtx& c) { c.set(0, strided_scatter(c.tangent(0), shape, sizes, strides, offset)); });
  return y;
}

}  // namespace detail

Tensor Tensor::contiguous() const {
  const auto& im = checked("contiguous");
  if (!im.view) return *this;
  Tensor y = empty(im.shape, im.dtype, "contiguous");
  if (im.numel > 0)  // straight from the strides: no cached copy made on the way
    dispatch_every(im.dtype, [&]<class T>() {
      kernels::strided_copy(im.data_unchecked<T>(), im.view->strides, y.data<T>(), im.shape);
    });
  if (any_requires_grad({this})) record("contiguous", {this}, {&y}, [](BackwardCtx& c) { c.set(0, c.grad()); });
  view_tangent("contiguous", *this, y, [](const Tensor& t) { return t.contiguous(); });
  return y;
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  const auto& im = x.checked("reshape");
  const Shape out = infer_shape(x, shape, "reshape");
  Tensor y;
  if (!im.view) {
    y = alias_with_shape(x, out);
  } else if (auto st = view_strides(im.shape, im.view->strides, out)) {
    y = make_view(x, out, *st, im.offset);
  } else {
    y = alias_with_shape(x.detach().contiguous(), out);  // libtorch: a copy when no view can do it
  }
  if (any_requires_grad({&x}))
    record("reshape", {&x}, {&y}, [in = x.shape()](BackwardCtx& c) { c.set(0, reshape(c.grad(), in)); });
  view_tangent("reshape", x, y, [&](const Tensor& t) { return reshape(t, out); });
  return y;
}

Tensor view(const Tensor& x, const Shape& shape) {
  const auto& im = x.checked("view");
  if (im.view) {
    const Shape out = infer_shape(x, shape, "view");
    if (!view_strides(im.shape, im.view->strides, out))
      fail(
          "view: size {} is not compatible with the size and strides of {} (strides {}): at least one dim spans "
          "two contiguous runs; use reshape(...) instead",
          shape_str(shape), describe(x), shape_str(im.view->strides));
  }
  return reshape(x, shape);
}

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
  return reshape(x, out);  // a size-1 dim never breaks a contiguous run, so this is always a view
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
  const Geometry in = geometry_of(x);
  Geometry g = in;
  for (std::size_t i = 0; i < perm.size(); ++i) {
    g.sizes[i] = in.sizes[static_cast<std::size_t>(perm[i])];
    g.strides[i] = in.strides[static_cast<std::size_t>(perm[i])];
  }
  Tensor y = view_of(x, g);
  if (any_requires_grad({&x})) {
    Shape inv(perm.size());
    for (std::size_t i = 0; i < perm.size(); ++i) inv[static_cast<std::size_t>(perm[i])] = static_cast<std::int64_t>(i);
    record("permute", {&x}, {&y}, [inv](BackwardCtx& c) { c.set(0, permute(c.grad(), inv)); });
  }
  view_tangent("permute", x, y, [&](const Tensor& t) { return permute(t, perm); });
  return y;
}

Tensor transpose(const Tensor& x, std::int64_t d0, std::int64_t d1) {
  const auto r = x.checked("transpose").shape.size();
  const auto a = normalize_dim(d0, static_cast<std::int64_t>(r), "transpose");
  const auto b = normalize_dim(d1, static_cast<std::int64_t>(r), "transpose");
  if (r == 0 || a == b) return x;
  Geometry g = geometry_of(x);
  std::swap(g.sizes[static_cast<std::size_t>(a)], g.sizes[static_cast<std::size_t>(b)]);
  std::swap(g.strides[static_cast<std::size_t>(a)], g.strides[static_cast<std::size_t>(b)]);
  Tensor y = view_of(x, g);
  if (any_requires_grad({&x}))
    record("transpose", {&x}, {&y}, [a, b](BackwardCtx& c) { c.set(0, transpose(c.grad(), a, b)); });
  view_tangent("transpose", x, y, [&](const Tensor& t) { return transpose(t, a, b); });
  return y;
}

Tensor t(const Tensor& x) {
  if (x.dim() > 2) fail("t: expects a tensor of rank <= 2, got {}; use transpose(x, d0, d1)", describe(x));
  return x.dim() < 2 ? x : transpose(x, 0, 1);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  const Shape& xs = x.checked("expand").shape;
  if (shape.size() < xs.size()) fail("expand: target shape {} has fewer dims than {}", shape_str(shape), describe(x));
  const Geometry in = geometry_of(x);
  Geometry g{shape, Shape(shape.size(), 0), in.offset};
  const std::size_t off = shape.size() - xs.size();
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i < off) {
      if (shape[i] < 0)
        fail("expand: -1 is not allowed in a new leading dim: {} for {}", shape_str(shape), describe(x));
      continue;
    }
    const auto d = xs[i - off];
    if (shape[i] < -1) fail("expand: invalid size {} in {} for {}", shape[i], shape_str(shape), describe(x));
    if (shape[i] == -1 || shape[i] == d) {
      g.sizes[i] = d;
      g.strides[i] = in.strides[i - off];
    } else if (d != 1) {
      fail("expand: {} cannot be expanded to {} (dim {}: {} vs {})", describe(x), shape_str(shape), i, d, shape[i]);
    }
  }
  if (g.sizes == xs) return x;
  Tensor y = view_of(x, g);
  if (any_requires_grad({&x}))
    record("expand", {&x}, {&y}, [in = xs](BackwardCtx& c) { c.set(0, sum_to(c.grad(), in)); });
  view_tangent("expand", x, y, [&](const Tensor& t) { return expand(t, g.sizes); });
  return y;
}

Tensor expand_as(const Tensor& x, const Tensor& other) { return expand(x, other.checked("expand_as").shape); }

Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index) {
  x.checked("select");
  if (x.dim() == 0) fail("select: cannot select from a 0-d tensor {}", describe(x));
  const auto d = static_cast<std::size_t>(normalize_dim(dim, x.dim(), "select"));
  const auto n = x.shape()[d];
  if (index < -n || index >= n)
    fail("select: index {} is out of range for dim {} of size {} in {}", index, dim, n, describe(x));
  const auto i = index < 0 ? index + n : index;
  Tensor y = view_of(x, select_geometry(geometry_of(x), d, i));
  if (any_requires_grad({&x})) record_scatter("select", x, y, select_geometry(logical_of(x), d, i));
  view_tangent("select", x, y, [&](const Tensor& t) { return select(t, static_cast<std::int64_t>(d), i); });
  return y;
}

Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) {
  x.checked("slice");
  if (x.dim() == 0) fail("slice: cannot slice a 0-d tensor {}", describe(x));
  if (step <= 0) fail("slice: step must be positive, got {} for {}", step, describe(x));
  const auto d = static_cast<std::size_t>(normalize_dim(dim, x.dim(), "slice"));
  const auto n = x.shape()[d];
  auto clampi = [n](std::int64_t v) { return v < 0 ? std::max<std::int64_t>(v + n, 0) : std::min(v, n); };
  const auto s = clampi(start), e = std::max(clampi(end), clampi(start));
  const std::int64_t len = e == s ? 0 : (e - s - 1) / step + 1;
  Tensor y = view_of(x, slice_geometry(geometry_of(x), d, s, len, step));
  if (any_requires_grad({&x})) record_scatter("slice", x, y, slice_geometry(logical_of(x), d, s, len, step));
  view_tangent("slice", x, y, [&](const Tensor& t) { return slice(t, static_cast<std::int64_t>(d), s, e, step); });
  return y;
}

Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length) {
  x.checked("narrow");
  if (x.dim() == 0) fail("narrow: cannot narrow a 0-d tensor {}", describe(x));
  const auto d = normalize_dim(dim, x.dim(), "narrow");
  const auto n = x.shape()[static_cast<std::size_t>(d)];
  const auto s = start < 0 ? start + n : start;
  if (s < 0 || length < 0 || s > n || length > n - s)
    fail("narrow: start {} with length {} is out of range for dim {} of size {} in {}", start, length, dim, n,
         describe(x));
  return slice(x, d, s, s + length, 1);
}

namespace {
Geometry diagonal_geometry(Geometry g, std::int64_t offset, std::size_t d1, std::size_t d2) {
  const auto n1 = g.sizes[d1], n2 = g.sizes[d2];
  std::int64_t len = 0;  // (written so that no offset, however large, overflows)
  if (offset >= 0) len = offset >= n2 ? 0 : std::min(n1, n2 - offset);
  else len = offset <= -n1 ? 0 : std::min(n1 + offset, n2);
  if (len > 0) g.offset += offset >= 0 ? offset * g.strides[d2] : -offset * g.strides[d1];
  const std::int64_t st = g.strides[d1] + g.strides[d2];
  for (auto d : {std::max(d1, d2), std::min(d1, d2)}) {
    g.sizes.erase(g.sizes.begin() + static_cast<std::ptrdiff_t>(d));
    g.strides.erase(g.strides.begin() + static_cast<std::ptrdiff_t>(d));
  }
  g.sizes.push_back(len);
  g.strides.push_back(st);
  return g;
}

Geometry unfold_geometry(Geometry g, std::size_t d, std::int64_t size, std::int64_t step) {
  if (g.sizes.empty()) {  // a 0-d tensor unfolds into [size] (size 0 or 1), as libtorch
    g.sizes = {size};
    g.strides = {1};
    return g;
  }
  const std::int64_t st = g.strides[d];
  g.sizes[d] = (g.sizes[d] - size) / step + 1;
  if (g.sizes[d] > 1) g.strides[d] = st * step;  // more than one window bounds step by the size
  g.sizes.push_back(size);
  g.strides.push_back(st);
  return g;
}
}  // namespace

Tensor diagonal(const Tensor& x, std::int64_t offset, std::int64_t dim1, std::int64_t dim2) {
  x.checked("diagonal");
  if (x.dim() < 2) fail("diagonal: expects a tensor of rank >= 2, got {}", describe(x));
  const auto d1 = static_cast<std::size_t>(normalize_dim(dim1, x.dim(), "diagonal"));
  const auto d2 = static_cast<std::size_t>(normalize_dim(dim2, x.dim(), "diagonal"));
  if (d1 == d2) fail("diagonal: dim1 and dim2 cannot be the same dim ({}) for {}", dim1, describe(x));
  Tensor y = view_of(x, diagonal_geometry(geometry_of(x), offset, d1, d2));
  if (any_requires_grad({&x})) record_scatter("diagonal", x, y, diagonal_geometry(logical_of(x), offset, d1, d2));
  view_tangent("diagonal", x, y, [&](const Tensor& t) {
    return diagonal(t, offset, static_cast<std::int64_t>(d1), static_cast<std::int64_t>(d2));
  });
  return y;
}

Tensor unfold(const Tensor& x, std::int64_t dim, std::int64_t size, std::int64_t step) {
  x.checked("unfold");
  const auto d = static_cast<std::size_t>(normalize_dim(dim, x.dim(), "unfold"));
  const std::int64_t n = x.dim() == 0 ? 1 : x.shape()[d];
  if (size < 0 || size > n)
    fail("unfold: size {} is out of range for dim {} of size {} in {}", size, dim, n, describe(x));
  if (step <= 0) fail("unfold: step must be positive, got {} for {}", step, describe(x));
  Tensor y = view_of(x, unfold_geometry(geometry_of(x), d, size, step));
  if (any_requires_grad({&x})) record_scatter("unfold", x, y, unfold_geometry(logical_of(x), d, size, step));
  view_tangent("unfold", x, y, [&](const Tensor& t) { return unfold(t, static_cast<std::int64_t>(d), size, step); });
  return y;
}

Tensor as_strided(const Tensor& x, const Shape& size, const Shape& stride, std::optional<std::int64_t> storage_offset) {
  const auto& im = x.checked("as_strided");
  const std::int64_t off = storage_offset.value_or(im.offset);
  if (size.size() != stride.size())
    fail("as_strided: {} sizes but {} strides for {}", size.size(), stride.size(), describe(x));
  std::int64_t last = off;  // the furthest element the view reads
  bool empty_view = false;
  for (std::size_t i = 0; i < size.size(); ++i) {
    if (size[i] < 0 || stride[i] < 0)
      fail("as_strided: negative size or stride in {} / {} for {}", shape_str(size), shape_str(stride), describe(x));
    std::int64_t reach = 0;
    if (size[i] == 0) empty_view = true;
    else if (__builtin_mul_overflow(size[i] - 1, stride[i], &reach) || __builtin_add_overflow(last, reach, &last))
      fail("as_strided: sizes {} and strides {} reach past what int64 can count ({})", shape_str(size),
           shape_str(stride), describe(x));
  }
  const auto capacity = static_cast<std::int64_t>(im.storage->nbytes / itemsize(im.dtype));
  if (off < 0 || off > capacity || (!empty_view && last >= capacity))  // (an empty view's offset too)
    fail("as_strided: sizes {}, strides {} and offset {} reach element {}, outside the storage of {} elements of {}",
         shape_str(size), shape_str(stride), off, last, capacity, describe(x));
  Tensor y = make_view(x, size, stride, off);
  const bool grad = any_requires_grad({&x}), tangent = any_tangent({&x});
  // the gradient scatters into x's own elements, which must be the row-major block the view indexes;
  // the tangent is the same view of the tangent laid out as that block
  if ((grad || tangent) && (!im.is_contiguous() || off < im.offset || (!empty_view && last >= im.offset + im.numel)))
    fail(
        "as_strided: the {} of a view reaching outside its input is not supported ({} read with sizes {}, "
        "strides {}, offset {}); call contiguous() on the input first",
        grad ? "gradient" : "forward-mode tangent", describe(x), shape_str(size), shape_str(stride), off);
  if (grad) record_scatter("as_strided", x, y, Geometry{size, stride, off - im.offset});
  if (tangent)
    propagate_tangent("as_strided", {&x}, {&y}, [&](JvpCtx& c) {
      const Tensor t = c.tangent(0).contiguous();
      c.set(0, as_strided(t, size, stride, t.storage_offset() + off - im.offset));
    });
  return y;
}

std::vector<Tensor> unbind(const Tensor& x, std::int64_t dim) {
  const auto r = x.checked("unbind").shape.size();
  if (r == 0) fail("unbind: expects a tensor of rank >= 1, got {}", describe(x));
  const auto d = static_cast<std::size_t>(normalize_dim(dim, static_cast<std::int64_t>(r), "unbind"));
  const std::int64_t n = x.shape()[d];
  Shape part = x.shape();
  part.erase(part.begin() + static_cast<std::ptrdiff_t>(d));
  std::vector<Tensor> ys;
  ys.reserve(static_cast<std::size_t>(n));
  const Geometry in = geometry_of(x);
  for (std::int64_t i = 0; i < n; ++i) ys.push_back(view_of(x, select_geometry(in, d, i)));
  if (n > 0 && any_requires_grad({&x}))
    record("unbind", {&x}, ys, [n, d = static_cast<std::int64_t>(d), part, dt = x.dtype()](BackwardCtx& c) {
      std::vector<Tensor> gs;
      for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i)
        gs.push_back(c.grad(i).defined() ? c.grad(i) : zeros(part, dt));
      c.set(0, stack(gs, d));
    });
  if (n > 0 && any_tangent({&x}))
    propagate_tangent("unbind", {&x}, ys, [&](JvpCtx& c) {
      std::vector<Tensor> ts = unbind(c.tangent(0), static_cast<std::int64_t>(d));
      for (std::size_t i = 0; i < ts.size(); ++i) c.set(i, std::move(ts[i]));
    });
  return ys;
}

}  // namespace ag
