#include "autograd/ops/scan_sort.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "autograd/factory.h"
#include "autograd/forward_grad.h"
#include "autograd/kernels/elementwise.h"
#include "autograd/ops/arith.h"
#include "autograd/ops/compare.h"
#include "autograd/ops/index.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/ops/util.h"
#include "autograd/tape.h"

namespace ag {

namespace {

void check_floating(const Tensor& x, const char* op) {
  if (!is_floating(x.checked(op).dtype))
    fail("{}: expected a floating tensor (float32 or float64), got {}", op, describe(x));
}

/// The validated dim of a scan/sort over x (0 for a 0-d x) and the [outer, n, inner] split around it.
struct DimPlan {
  std::int64_t d = 0;
  kernels::Split3 sp;
};

DimPlan dim_plan(const Tensor& x, std::int64_t dim, const char* op, bool int64_ok = false) {
  if (int64_ok) x.checked(op);
  else check_floating(x, op);
  DimPlan p;
  p.d = normalize_dim(dim, x.dim(), op);
  p.sp = kernels::split_at(x.shape(), static_cast<std::size_t>(p.d));
  return p;
}

bool has_zero(const Tensor& x) {
  return dispatch_floating(x.dtype(), "has_zero", [&]<class T>() {
    const T* p = x.cdata<T>();
    for (std::int64_t i = 0; i < x.numel(); ++i)
      if (p[i] == T(0)) return true;
    return false;
  });
}

std::int64_t count_zeros(const Tensor& x) {
  return dispatch_floating(x.dtype(), "count_zeros", [&]<class T>() {
    const T* p = x.cdata<T>();
    std::int64_t z = 0;
    for (std::int64_t i = 0; i < x.numel(); ++i) z += p[i] == T(0);
    return z;
  });
}

/// x reversed along d (recorded: grad = flip(g)).
Tensor flip(const Tensor& x, std::int64_t d) {
  if (x.dim() == 0) return x;
  const std::int64_t n = x.size(d);
  std::vector<std::int64_t> idx(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) idx[static_cast<std::size_t>(i)] = n - 1 - i;
  return index_select(x, d, tensor(idx, {n}, kInt64));
}

/// The running sum from the end: flip(cumsum(flip(g))), cumsum's VJP.
Tensor reversed_cumsum(const Tensor& g, std::int64_t d) { return flip(cumsum(flip(g, d), d), d); }

/// ones of x's shape with size 1 along d
Tensor ones_along(const Tensor& x, std::int64_t d) {
  Shape s = x.shape();
  s[static_cast<std::size_t>(d)] = 1;
  return ones(s, x.dtype());
}

/// PyTorch's prod_safe_zeros_backward: g times, for each element, the product of the other elements of
/// its slice along d (exclusive prefix product times exclusive suffix product). g broadcasts along d.
Tensor prod_safe_zeros_backward(const Tensor& g, const Tensor& x, std::int64_t d) {
  if (x.numel() == 0) return expand(g, x.shape());
  const std::int64_t n = x.size(d);
  const Tensor one = ones_along(x, d);
  const Tensor excl_normal = cumprod(cat({one, narrow(x, d, 0, n - 1)}, d), d);
  const Tensor narrow_reverse = flip(narrow(x, d, 1, n - 1), d);
  const Tensor excl_reverse = flip(cumprod(cat({one, narrow_reverse}, d), d), d);
  return mul(g, mul(excl_normal, excl_reverse));
}

/// PyTorch's cumprod_backward.
Tensor cumprod_backward(const Tensor& g, const Tensor& x, const Tensor& y, std::int64_t d) {
  if (x.numel() <= 1 || x.dim() == 0) return g;
  const std::int64_t n = x.size(d);
  if (n == 1) return g;
  if (!has_zero(x)) return div(reversed_cumsum(mul(y, g), d), x);
  // With zeros: position k gets sum_{j >= k} g_j prod_{i <= j, i != k} x_i, built with ops (O(n^2),
  // as PyTorch's double-backward path) so that it is right for any zeros and differentiable again.
  std::vector<Tensor> parts;
  parts.reserve(static_cast<std::size_t>(n));
  for (std::int64_t k = 0; k < n; ++k) {
    Tensor omitted;
    if (k == 0) {
      omitted = cat({ones_along(x, d), cumprod(slice(x, d, 1, n), d)}, d);
    } else if (k == n - 1) {
      omitted = prod(slice(x, d, 0, k), d, true);
    } else {
      const Tensor until_k = prod(slice(x, d, 0, k), d, true);
      omitted = cat({until_k, mul(until_k, cumprod(slice(x, d, k + 1, n), d))}, d);
    }
    parts.push_back(sum(mul(slice(g, d, k, n), omitted), d));
  }
  return stack(parts, d);
}

/// PyTorch's cumprod_jvp: y * cumsum(t / x) without zeros. From the first zero of a slice on, the
/// tangent is cumprod of x with t in place of that zero (t0, x0 t1, x0 x1 t1, 0, ... for x = (x0, 0,
/// x1, 0, ...)). Zeros are replaced by 1 in the division so that no NaN arises, even in its gradient.
Tensor cumprod_jvp(const Tensor& t, const Tensor& x, const Tensor& y, std::int64_t d) {
  if (x.dim() == 0) return t;
  if (!has_zero(x)) return mul(cumsum(div(t, x), d), y);
  const Tensor zero = eq(x.detach(), 0.0);                   // 1 at the zeros
  const Tensor first = mul(zero, eq(cumsum(zero, d), 1.0));  // 1 at the first zero of each slice
  const Tensor after_first = gt(cumsum(first, d), 0.0);      // 1 from it on
  const Tensor generic = mul(cumsum(div(t, where(zero, 1.0, x)), d), y);
  return where(after_first, cumprod(where(first, t, x), d), generic);
}

/// Stable order of one row of `n` values read at stride `inner` from p; NaN above every number.
template <class T>
void row_order(const T* p, std::int64_t n, std::int64_t inner, bool descending, std::int64_t k,
               std::vector<std::int64_t>& order) {
  order.resize(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  auto at = [&](std::int64_t i) { return p[i * inner]; };
  // a strict weak order: NaNs equal to each other and above all numbers; ties broken by index
  auto less = [&](std::int64_t i, std::int64_t j) {
    const T a = at(i), b = at(j);
    const bool na = a != a, nb = b != b;  // NaN (never for int64)
    if (na || nb) {
      if (na && nb) return i < j;
      return descending ? na : nb;
    }
    if (a != b) return descending ? a > b : a < b;
    return i < j;
  };
  if (k < n) std::partial_sort(order.begin(), order.begin() + k, order.end(), less);
  else std::sort(order.begin(), order.end(), less);
}

/// int64 indices of the first k of each row along the plan's dim, sorted; shape = x's with size k at d
/// (0-d for a 0-d x).
Tensor sorted_indices(const Tensor& x, const DimPlan& p, bool descending, std::int64_t k, const char* op) {
  Shape out = x.shape();
  if (!out.empty()) out[static_cast<std::size_t>(p.d)] = k;
  Tensor idx = empty(out, kInt64, op);
  const auto& sp = p.sp;
  dispatch_all(x.dtype(), op, [&]<class T>() {
    const T* px = x.cdata<T>();
    std::int64_t* pi = idx.cdata<std::int64_t>();
    parallel_for(0, sp.outer * sp.inner, std::max<std::int64_t>(kernels::kGrain / std::max<std::int64_t>(sp.n, 1), 1),
                 [&](std::int64_t lo, std::int64_t hi) {
                   std::vector<std::int64_t> order;
                   for (std::int64_t r = lo; r < hi; ++r) {
                     const std::int64_t o = r / sp.inner, i = r % sp.inner;
                     row_order(px + o * sp.n * sp.inner + i, sp.n, sp.inner, descending, k, order);
                     for (std::int64_t j = 0; j < k; ++j)
                       pi[(o * k + j) * sp.inner + i] = order[static_cast<std::size_t>(j)];
                   }
                 });
  });
  return idx;
}

}  // namespace

// ---- scans and products ----------------------------------------------------------------------------

Tensor cumsum(const Tensor& x, std::int64_t dim) {
  const DimPlan p = dim_plan(x, dim, "cumsum");
  Tensor y = empty(x.shape(), x.dtype(), "cumsum");
  const auto& sp = p.sp;
  dispatch_floating(x.dtype(), "cumsum", [&]<class T>() {
    const T* px = x.cdata<T>();
    T* py = y.cdata<T>();
    for (std::int64_t o = 0; o < sp.outer; ++o)
      for (std::int64_t i = 0; i < sp.inner; ++i) {
        double acc = 0;  // as PyTorch on the CPU: a double accumulator for float too
        for (std::int64_t j = 0; j < sp.n; ++j) {
          const std::int64_t at = (o * sp.n + j) * sp.inner + i;
          acc += static_cast<double>(px[at]);
          py[at] = static_cast<T>(acc);
        }
      }
  });
  if (any_requires_grad({&x}))
    record("cumsum", {&x}, {&y},
           [d = p.d](BackwardCtx& c) { c.set(0, c.grad().dim() == 0 ? c.grad() : reversed_cumsum(c.grad(), d)); });
  if (any_tangent({&x}))
    propagate_tangent("cumsum", {&x}, {&y}, [d = p.d](JvpCtx& c) { c.set(0, cumsum(c.tangent(0), d)); });
  return y;
}

Tensor cumprod(const Tensor& x, std::int64_t dim) {
  const DimPlan p = dim_plan(x, dim, "cumprod");
  Tensor y = empty(x.shape(), x.dtype(), "cumprod");
  const auto& sp = p.sp;
  dispatch_floating(x.dtype(), "cumprod", [&]<class T>() {
    const T* px = x.cdata<T>();
    T* py = y.cdata<T>();
    for (std::int64_t o = 0; o < sp.outer; ++o)
      for (std::int64_t i = 0; i < sp.inner; ++i) {
        double acc = 1;
        for (std::int64_t j = 0; j < sp.n; ++j) {
          const std::int64_t at = (o * sp.n + j) * sp.inner + i;
          acc *= static_cast<double>(px[at]);
          py[at] = static_cast<T>(acc);
        }
      }
  });
  if (any_requires_grad({&x}))
    record(
        "cumprod", {&x}, {&y},
        [d = p.d, sx = SavedTensor(x)](BackwardCtx& c) {
          c.set(0, cumprod_backward(c.grad(), sx.get("cumprod"), c.output(), d));
        },
        Keep::Output);
  if (any_tangent({&x}))
    propagate_tangent("cumprod", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, cumprod_jvp(c.tangent(0), x, y, p.d)); });
  return y;
}

namespace {
/// prod(x)'s VJP: g * dy/dx (PyTorch's prod_backward: safe with one zero, 0 with several).
Tensor prod_backward(const Tensor& g, const Tensor& xv, const Tensor& y) {
  if (xv.dim() == 0) return g;
  const std::int64_t zeros_n = count_zeros(xv);
  if (zeros_n == 0) return mul(g, div(y, xv));
  if (zeros_n > 1) return zeros_like(xv);
  return reshape(prod_safe_zeros_backward(g, reshape(xv, {-1}), 0), xv.shape());
}

/// prod(x, d, keepdim)'s VJP.
Tensor prod_dim_backward(Tensor g, const Tensor& xv, Tensor yv, std::int64_t d, bool keepdim) {
  if (xv.dim() == 0) return g;
  if (!keepdim) {
    g = unsqueeze(g, d);
    yv = unsqueeze(yv, d);
  }
  if (!has_zero(xv)) return mul(g, div(yv, xv));
  return prod_safe_zeros_backward(g, xv, d);
}
}  // namespace

Tensor prod(const Tensor& x) {
  check_floating(x, "prod");
  Tensor y = empty({}, x.dtype(), "prod");
  dispatch_floating(x.dtype(), "prod", [&]<class T>() {
    const T* px = x.cdata<T>();
    T acc = 1;
    for (std::int64_t i = 0; i < x.numel(); ++i) acc *= px[i];
    *y.cdata<T>() = acc;
  });
  if (any_requires_grad({&x}))
    record(
        "prod", {&x}, {&y},
        [sx = SavedTensor(x)](BackwardCtx& c) { c.set(0, prod_backward(c.grad(), sx.get("prod"), c.output())); },
        Keep::Output);
  if (any_tangent({&x}))  // sum(t * dy/dx), dy/dx being the VJP of a gradient of 1, as torch
    propagate_tangent("prod", {&x}, {&y},
                      [&](JvpCtx& c) { c.set(0, sum(mul(c.tangent(0), prod_backward(ones_like(y), x, y)))); });
  return y;
}

Tensor prod(const Tensor& x, std::int64_t dim, bool keepdim) {
  const DimPlan p = dim_plan(x, dim, "prod");
  Shape out = x.shape();
  if (!out.empty()) {
    if (keepdim) out[static_cast<std::size_t>(p.d)] = 1;
    else out.erase(out.begin() + p.d);
  }
  Tensor y = empty(out, x.dtype(), "prod");
  const auto& sp = p.sp;
  dispatch_floating(x.dtype(), "prod", [&]<class T>() {
    const T* px = x.cdata<T>();
    T* py = y.cdata<T>();
    for (std::int64_t o = 0; o < sp.outer; ++o)
      for (std::int64_t i = 0; i < sp.inner; ++i) {
        T acc = 1;
        for (std::int64_t j = 0; j < sp.n; ++j) acc *= px[(o * sp.n + j) * sp.inner + i];
        py[o * sp.inner + i] = acc;
      }
  });
  if (any_requires_grad({&x}))
    record(
        "prod_dim", {&x}, {&y},
        [d = p.d, keepdim, sx = SavedTensor(x)](BackwardCtx& c) {
          c.set(0, prod_dim_backward(c.grad(), sx.get("prod"), c.output(), d, keepdim));
        },
        Keep::Output);
  if (any_tangent({&x}))  // sum over d of t * dy/dx, as torch
    propagate_tangent("prod_dim", {&x}, {&y}, [&](JvpCtx& c) {
      c.set(0, sum(mul(c.tangent(0), prod_dim_backward(ones_like(y), x, y, p.d, keepdim)), p.d, keepdim));
    });
  return y;
}

// ---- sorting ----------------------------------------------------------------------------------------

std::tuple<Tensor, Tensor> sort(const Tensor& x, std::int64_t dim, bool descending) {
  const DimPlan p = dim_plan(x, dim, "sort", /*int64_ok=*/true);
  Tensor idx = sorted_indices(x, p, descending, p.sp.n, "sort");
  Tensor values = gather(x, p.d, idx);
  return {values, idx};
}

Tensor argsort(const Tensor& x, std::int64_t dim, bool descending) {
  const DimPlan p = dim_plan(x, dim, "argsort", /*int64_ok=*/true);
  return sorted_indices(x, p, descending, p.sp.n, "argsort");
}

std::tuple<Tensor, Tensor> topk(const Tensor& x, std::int64_t k, std::int64_t dim, bool largest, bool /*sorted*/) {
  const DimPlan p = dim_plan(x, dim, "topk", /*int64_ok=*/true);
  if (k < 0 || k > p.sp.n)
    fail("topk: k = {} is out of range for dim {} of size {} in {} (expected 0 <= k <= {})", k, dim, p.sp.n,
         describe(x), p.sp.n);
  // a 0-d x gives x and index 0, for k = 0 too (as torch)
  Tensor idx = sorted_indices(x, p, largest, x.dim() == 0 ? 1 : k, "topk");
  Tensor values = gather(x, p.d, idx);
  return {values, idx};
}

}  // namespace ag
