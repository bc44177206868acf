// libtorch functions composed of other ops (so they have no derivative of their own: autograd goes
// through the ops they are made of): sum and mean over several dims, argmin, norm, all, any.
#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/grad_mode.h"
#include "autograd/ops/arith.h"
#include "autograd/ops/compare.h"
#include "autograd/ops/convert.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/ops/unary.h"

namespace ag {

namespace {

// The dims normalised (a 0-d tensor takes 0 and -1), sorted ascending; a repeated dim is an error, as
// libtorch's. An empty list means every dim.
std::vector<std::int64_t> normalize_dims(const Tensor& x, const std::vector<std::int64_t>& dims, const char* op) {
  const std::int64_t rank = x.checked(op).shape.size();
  std::vector<std::int64_t> out;
  if (dims.empty()) {
    for (std::int64_t d = 0; d < rank; ++d) out.push_back(d);
    return out;
  }
  for (std::int64_t d : dims) {
    const std::int64_t n = normalize_dim(d, std::max<std::int64_t>(rank, 1), op);
    if (std::find(out.begin(), out.end(), n) != out.end())
      fail("{}: dim {} appears multiple times in the list of dims", op, n);
    out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  if (rank == 0) out.clear();  // a 0-d tensor has no dim to reduce
  return out;
}

// The shape of a reduction over `dims` (sorted, normalised) with keepdim.
Shape keepdim_shape(const Shape& s, const std::vector<std::int64_t>& dims) {
  Shape r = s;
  for (std::int64_t d : dims) r[static_cast<std::size_t>(d)] = 1;
  return r;
}

// x with the dims in `dims` moved to the end and merged into one (the last): a reduction over
// dim -1 of it is the reduction over `dims` of x, without keepdim.
Tensor merge_reduced_dims(const Tensor& x, const std::vector<std::int64_t>& dims) {
  const Shape& s = x.shape();
  Shape perm, kept;
  std::int64_t merged = 1;
  for (std::int64_t d = 0; d < static_cast<std::int64_t>(s.size()); ++d)
    if (std::find(dims.begin(), dims.end(), d) == dims.end()) {
      perm.push_back(d);
      kept.push_back(s[static_cast<std::size_t>(d)]);
    }
  for (std::int64_t d : dims) {
    perm.push_back(d);
    merged *= s[static_cast<std::size_t>(d)];
  }
  kept.push_back(merged);
  bool identity = true;
  for (std::size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == static_cast<std::int64_t>(i);
  return reshape(identity ? x : permute(x, perm), kept);
}

// A reduction result without keepdim, reshaped to the keepdim shape when asked.
Tensor finish_keepdim(const Tensor& r, const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
  return keepdim ? reshape(r, keepdim_shape(x.shape(), dims)) : r;
}

// f(s) for s >= 0 with a zero gradient where s == 0 (instead of the inf * 0 = NaN of sqrt or pow at 0),
// as libtorch's norm backward masks the norm's zeros: f is applied to s with its zeros replaced by 1.
template <class F>
Tensor safe_at_zero(const Tensor& s, F f) {
  const Tensor zero = eq(s, 0.0);
  return where(zero, 0.0, f(where(zero, 1.0, s)));
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
  const auto ds = normalize_dims(x, dims, "sum");
  if (dims.empty() || ds.empty()) return keepdim ? reshape(sum(x), keepdim_shape(x.shape(), ds)) : sum(x);
  Tensor r = x;
  for (auto it = ds.rbegin(); it != ds.rend(); ++it) r = sum(r, *it, keepdim);  // highest dim first: no shifting
  return r;
}

Tensor mean(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
  const auto ds = normalize_dims(x, dims, "mean");
  if (dims.empty() || ds.empty()) return keepdim ? reshape(mean(x), keepdim_shape(x.shape(), ds)) : mean(x);
  std::int64_t count = 1;
  for (std::int64_t d : ds) count *= x.shape()[static_cast<std::size_t>(d)];
  return div(sum(x, ds, keepdim), static_cast<double>(count));
}

Tensor argmax(const Tensor& x) { return argmax(flatten(x), 0); }

Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim) {
  x.checked("argmin");
  NoGradGuard no_grad;  // an index is not differentiable: nothing to record
  return argmax(neg(x), dim, keepdim);
}

Tensor argmin(const Tensor& x) { return argmin(flatten(x), 0); }

Tensor norm(const Tensor& x, double p, const std::vector<std::int64_t>& dims, bool keepdim) {
  const auto ds = normalize_dims(x, dims, "norm");
  if (std::isnan(p)) fail("norm: the order p is NaN");
  const Tensor flat = merge_reduced_dims(x, ds);  // reduce over its last dim
  Tensor r;
  if (p == 2.0) {
    r = safe_at_zero(sum(square(flat), -1), [](const Tensor& s) { return sqrt(s); });
  } else if (p == 1.0) {
    r = sum(abs(flat), -1);
  } else if (p == std::numeric_limits<double>::infinity()) {
    r = amax(abs(flat), -1);
  } else if (p == -std::numeric_limits<double>::infinity()) {
    r = amin(abs(flat), -1);
  } else if (p == 0.0) {
    r = sum(ne(flat, 0.0), -1);
  } else {
    r = safe_at_zero(sum(pow(abs(flat), p), -1), [p](const Tensor& s) { return pow(s, 1.0 / p); });
  }
  return finish_keepdim(r, x, ds, keepdim);
}

Tensor norm(const Tensor& x, double p, std::int64_t dim, bool keepdim) {
  return norm(x, p, std::vector<std::int64_t>{dim}, keepdim);
}

Tensor norm(const Tensor& x, double p) { return norm(x, p, std::vector<std::int64_t>{}, false); }

// Counts in float64 (exact up to 2^53 elements): reductions take floating tensors only.
Tensor all(const Tensor& x) {
  x.checked("all");
  return to(eq(sum(to(eq(x, 0.0), kFloat64)), 0.0), x.dtype());
}
Tensor all(const Tensor& x, std::int64_t dim, bool keepdim) {
  x.checked("all");
  return to(eq(sum(to(eq(x, 0.0), kFloat64), dim, keepdim), 0.0), x.dtype());
}
Tensor any(const Tensor& x) {
  x.checked("any");
  return to(gt(sum(to(ne(x, 0.0), kFloat64)), 0.0), x.dtype());
}
Tensor any(const Tensor& x, std::int64_t dim, bool keepdim) {
  x.checked("any");
  return to(gt(sum(to(ne(x, 0.0), kFloat64), dim, keepdim), 0.0), x.dtype());
}

}  // namespace ag
