#include "autograd/ops/compare.h"

#include <type_traits>

#include "autograd/factory.h"
#include "autograd/forward_grad.h"
#include "autograd/kernels/compare.h"
#include "autograd/kernels/elementwise.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/ops/util.h"
#include "autograd/tape.h"

namespace ag {

namespace {

template <class P>
Tensor compare(const Tensor& a, const Tensor& b, const char* op, P pred) {
  detail::check_same_dtype(a, b, op);
  const Shape out = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor y = empty(out, a.dtype());
  dispatch_all(a.dtype(), op, [&]<class T>() {
    kernels::zip(a.cdata<T>(), a.shape(), b.cdata<T>(), b.shape(), y.cdata<T>(), out,
                 [&](T u, T v) { return pred(u, v) ? T(1) : T(0); });
  });
  return y;
}

// Floating tensors compare with the scalar cast to their dtype (as libtorch); int64 compares in double.
template <class P>
Tensor compare(const Tensor& a, double s, const char* op, P pred) {
  const auto& im = a.checked(op);
  Tensor y = empty(im.shape, im.dtype);
  dispatch_all(im.dtype, op, [&]<class T>() {
    kernels::map(a.cdata<T>(), y.cdata<T>(), im.numel, [&](T u) {
      if constexpr (std::is_floating_point_v<T>) return pred(u, static_cast<T>(s)) ? T(1) : T(0);
      else return pred(static_cast<double>(u), s) ? T(1) : T(0);
    });
  });
  return y;
}

constexpr auto kEq = [](auto u, auto v) { return u == v; };
constexpr auto kNe = [](auto u, auto v) { return u != v; };
constexpr auto kLt = [](auto u, auto v) { return u < v; };
constexpr auto kLe = [](auto u, auto v) { return u <= v; };
constexpr auto kGt = [](auto u, auto v) { return u > v; };
constexpr auto kGe = [](auto u, auto v) { return u >= v; };

Shape where_shape(const Tensor& mask, const Tensor& a, const Tensor& b) {
  try {
    return broadcast_shapes(broadcast_shapes(mask.shape(), a.shape(), "where"), b.shape(), "where");
  } catch (const Error&) {
    fail("where: mask {}, a {} and b {} do not broadcast to one shape", describe(mask), describe(a), describe(b));
  }
}

}  // namespace

Tensor eq(const Tensor& a, const Tensor& b) { return compare(a, b, "eq", kEq); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare(a, b, "ne", kNe); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare(a, b, "lt", kLt); }
Tensor le(const Tensor& a, const Tensor& b) { return compare(a, b, "le", kLe); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare(a, b, "gt", kGt); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare(a, b, "ge", kGe); }
Tensor eq(const Tensor& a, double b) { return compare(a, b, "eq", kEq); }
Tensor ne(const Tensor& a, double b) { return compare(a, b, "ne", kNe); }
Tensor lt(const Tensor& a, double b) { return compare(a, b, "lt", kLt); }
Tensor le(const Tensor& a, double b) { return compare(a, b, "le", kLe); }
Tensor gt(const Tensor& a, double b) { return compare(a, b, "gt", kGt); }
Tensor ge(const Tensor& a, double b) { return compare(a, b, "ge", kGe); }

Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
Tensor operator!=(const Tensor& a, const Tensor& b) { return ne(a, b); }
Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
Tensor operator==(const Tensor& a, double b) { return eq(a, b); }
Tensor operator!=(const Tensor& a, double b) { return ne(a, b); }
Tensor operator<(const Tensor& a, double b) { return lt(a, b); }
Tensor operator<=(const Tensor& a, double b) { return le(a, b); }
Tensor operator>(const Tensor& a, double b) { return gt(a, b); }
Tensor operator>=(const Tensor& a, double b) { return ge(a, b); }

Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b) {
  mask.checked("where");
  detail::check_same_dtype(a, b, "where");
  const Shape out = where_shape(mask, a, b);
  Tensor y = empty(out, a.dtype());
  dispatch_every(mask.dtype(), [&]<class M>() {
    dispatch_all(a.dtype(), "where", [&]<class T>() {
      kernels::where(mask.cdata<M>(), mask.shape(), a.cdata<T>(), a.shape(), b.cdata<T>(), b.shape(), y.cdata<T>(),
                     out);
    });
  });
  if (any_requires_grad({&a, &b}))
    record("where", {&a, &b}, {&y}, [sm = SavedTensor(mask.detach()), sa = a.shape(), sb = b.shape()](BackwardCtx& c) {
      const Tensor m = sm.get("where");
      if (c.needs(0)) c.set(0, sum_to(where(m, c.grad(), 0.0), sa));
      if (c.needs(1)) c.set(1, sum_to(where(m, 0.0, c.grad()), sb));
    });
  if (any_tangent({&a, &b}))  // where(mask, ta, tb), an input without tangent giving zeros
    propagate_tangent("where", {&a, &b}, {&y}, [&](JvpCtx& c) {
      const Tensor m = mask.detach();
      const Tensor t = !c.has(1)   ? where(m, c.tangent(0), 0.0)
                       : !c.has(0) ? where(m, 0.0, c.tangent(1))
                                   : where(m, c.tangent(0), c.tangent(1));
      c.set(0, detail::tangent_to(t, y.shape()));
    });
  return y;
}

Tensor where(const Tensor& mask, const Tensor& a, double b) {
  return where(mask, a, full({}, b, a.checked("where").dtype));
}

Tensor where(const Tensor& mask, double a, const Tensor& b) {
  return where(mask, full({}, a, b.checked("where").dtype), b);
}

}  // namespace ag
