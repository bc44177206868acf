#include "autograd/ops/arith.h"

#include <cmath>

#include "autograd/forward_grad.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/ops/util.h"
#include "autograd/tape.h"

namespace ag {

using detail::map_floating;
using detail::tangent_add;
using detail::tangent_to;
using detail::zip_floating;

namespace detail {
Tensor tangent_to(const Tensor& t, const Shape& shape) {
  if (!t.defined() || t.shape() == shape) return t;
  return expand(t, shape).contiguous();
}
Tensor tangent_add(const Tensor& a, const Tensor& b) {
  if (!a.defined()) return b;
  if (!b.defined()) return a;
  return add(a, b);
}
}  // namespace detail

[[gnu::flatten]] Tensor add(const Tensor& a, const Tensor& b) {
  Tensor y = zip_floating(a, b, "add", [](auto u, auto v) { return u + v; });
  if (!any_requires_grad({&a, &b})) {
    // nothing recorded
  } else if (a.shape() == b.shape()) {  // no broadcasting: nothing to capture
    record("add", {&a, &b}, {&y}, [](BackwardCtx& c) {
      const bool n0 = c.needs(0), n1 = c.needs(1);
      if (n0) c.set(0, n1 ? c.grad() : c.take_grad());
      if (n1) c.set(1, c.take_grad());
    });
  } else {
    record("add", {&a, &b}, {&y}, [sa = a.shape(), sb = b.shape()](BackwardCtx& c) {
      if (c.needs(0)) c.set(0, sum_to(c.grad(), sa));
      if (c.needs(1)) c.set(1, sum_to(c.grad(), sb));
    });
  }
  if (any_tangent({&a, &b}))
    propagate_tangent("add", {&a, &b}, {&y},
                      [&](JvpCtx& c) { c.set(0, tangent_to(tangent_add(c.tangent(0), c.tangent(1)), y.shape())); });
  return y;
}

Tensor add(const Tensor& a, double s) {
  Tensor y = map_floating(a, "add", [s](auto u) { return u + s; });
  if (any_requires_grad({&a})) record("add_scalar", {&a}, {&y}, [](BackwardCtx& c) { c.set(0, c.grad()); });
  if (any_tangent({&a})) propagate_tangent("add_scalar", {&a}, {&y}, [](JvpCtx& c) { c.set(0, c.tangent(0)); });
  return y;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor y = zip_floating(a, b, "sub", [](auto u, auto v) { return u - v; });
  if (!any_requires_grad({&a, &b})) {
    // nothing recorded
  } else if (a.shape() == b.shape()) {
    record("sub", {&a, &b}, {&y}, [](BackwardCtx& c) {
      if (c.needs(0)) c.set(0, c.grad());
      if (c.needs(1)) c.set(1, neg(c.grad()));
    });
  } else {
    record("sub", {&a, &b}, {&y}, [sa = a.shape(), sb = b.shape()](BackwardCtx& c) {
      if (c.needs(0)) c.set(0, sum_to(c.grad(), sa));
      if (c.needs(1)) c.set(1, neg(sum_to(c.grad(), sb)));
    });
  }
  if (any_tangent({&a, &b}))
    propagate_tangent("sub", {&a, &b}, {&y}, [&](JvpCtx& c) {
      c.set(0, tangent_to(tangent_add(c.tangent(0), c.has(1) ? neg(c.tangent(1)) : Tensor()), y.shape()));
    });
  return y;
}

Tensor sub(const Tensor& a, double s) { return add(a, -s); }

Tensor sub(double s, const Tensor& b) {
  Tensor y = map_floating(b, "rsub", [s](auto v) { return s - v; });
  if (any_requires_grad({&b})) record("rsub_scalar", {&b}, {&y}, [](BackwardCtx& c) { c.set(0, neg(c.grad())); });
  if (any_tangent({&b})) propagate_tangent("rsub_scalar", {&b}, {&y}, [](JvpCtx& c) { c.set(0, neg(c.tangent(0))); });
  return y;
}

namespace {
// mul's product kernel, shared by the op and its VJP (inlined in both: a call fewer per product).
[[gnu::always_inline]] inline Tensor mul_values(const Tensor& a, const Tensor& b) {
  return zip_floating(a, b, "mul", [](auto u, auto v) { return u * v; });
}
// mul(g, v) for mul's VJP of two inputs of one shape (g has it too). Under a backward without
// create_graph and without forward mode, mul() would record nothing and propagate no tangent: the
// product alone (the 0-d chain: some 30 instructions fewer per product). Else mul() itself.
[[gnu::noinline]] Tensor mul_op(const Tensor& g, const Tensor& v) { return mul(g, v); }
// (flatten: zip_floating inlined, a call fewer per product)
[[gnu::flatten]] Tensor vjp_product(const Tensor& g, const Tensor& v) {
  if (!GradMode::is_enabled() && !detail::t_fw_on) [[likely]]
    return mul_values(g, v);
  return mul_op(g, v);
}
// vjp_product for the VJP's last read of g = c.grad(): the product written into g's own buffer when
// nothing else can see g, i.e. the engine's handle is its only one (not kept by a hook or for
// retain_grad), its storage is not shared, it is not a recorded, saved or dual tensor, and nothing
// is recorded, propagated or checked (no create_graph, forward mode or anomaly mode). The VJP
// reads c.grad() no more after it. Values as vjp_product's; the 0-d chain makes and frees one
// tensor fewer per mul node.
Tensor vjp_product_last(BackwardCtx& c, const Tensor& v) {
  const Tensor& g = c.grad();
  const TensorImpl* gi = g.impl();
  const TensorImpl* vi = v.impl();
  if (!GradMode::is_enabled() && !detail::t_fw_on && !detail::anomaly_enabled() && gi && vi && gi != vi &&
      g.impl_ptr().unique() && gi->storage.unique() && gi->is_contiguous() && gi->slot < 0 && !gi->requires_grad &&
      gi->saved_refs == 0 && !gi->has_tangent && gi->dtype == vi->dtype && gi->shape == vi->shape) {
    Tensor out = c.take_grad();  // the engine's handle (anomaly mode is off here: not a copy)
    TensorImpl& o = *out.impl();
    dispatch_floating(o.dtype, "mul", [&]<class T>() {
      T* y = o.data_unchecked<T>();
      const T* x = vi->is_contiguous() ? vi->data_unchecked<T>() : v.cdata<T>();
      const std::int64_t n = o.numel;
      if (n == 1) *y *= *x;  // 0-d: no loop set-up
      else
        for (std::int64_t i = 0; i < n; ++i) y[i] *= x[i];
    });
    ++o.storage->version;
    return out;
  }
  return vjp_product(g, v);
}

// mul's VJP when a and b have one shape (flatten: its products inlined, no call per product).
[[gnu::flatten]] void mul_vjp_same_shape(BackwardCtx& c, const SavedTensor& sa, const SavedTensor& sb) {
  const Tensor av = sa.get("mul"), bv = sb.get("mul");
  const bool n0 = c.needs(0), n1 = c.needs(1);
  if (n0) c.set(0, n1 ? vjp_product(c.grad(), bv) : vjp_product_last(c, bv));
  if (n1) c.set(1, vjp_product_last(c, av));
}
}  // namespace

[[gnu::flatten]] Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor y = mul_values(a, b);
  if (!any_requires_grad({&a, &b})) {
    // nothing recorded
  } else if (a.shape() == b.shape()) {  // no broadcasting: the products have the inputs' shape, no sum_to
    record("mul", {&a, &b}, {&y},
           [sa = SavedTensor(a), sb = SavedTensor(b)](BackwardCtx& c) { mul_vjp_same_shape(c, sa, sb); });
  } else {
    record("mul", {&a, &b}, {&y}, [sa = SavedTensor(a), sb = SavedTensor(b)](BackwardCtx& c) {
      const Tensor av = sa.get("mul"), bv = sb.get("mul");
      if (c.needs(0)) c.set(0, sum_to(mul(c.grad(), bv), av.shape()));
      if (c.needs(1)) c.set(1, sum_to(mul(c.grad(), av), bv.shape()));
    });
  }
  if (any_tangent({&a, &b}))
    propagate_tangent("mul", {&a, &b}, {&y}, [&](JvpCtx& c) {
      c.set(0, tangent_to(tangent_add(c.has(0) ? mul(c.tangent(0), b) : Tensor(),
                                      c.has(1) ? mul(a, c.tangent(1)) : Tensor()),
                          y.shape()));
    });
  return y;
}

Tensor mul(const Tensor& a, double s) {
  Tensor y = map_floating(a, "mul", [s](auto u) { return u * s; });
  if (any_requires_grad({&a})) record("mul_scalar", {&a}, {&y}, [s](BackwardCtx& c) { c.set(0, mul(c.grad(), s)); });
  if (any_tangent({&a}))
    propagate_tangent("mul_scalar", {&a}, {&y}, [s](JvpCtx& c) { c.set(0, mul(c.tangent(0), s)); });
  return y;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor y = zip_floating(a, b, "div", [](auto u, auto v) { return u / v; });
  if (any_requires_grad({&a, &b}))
    record("div", {&a, &b}, {&y}, [sa = SavedTensor(a), sb = SavedTensor(b)](BackwardCtx& c) {
      const Tensor av = sa.get("div"), bv = sb.get("div");
      if (c.needs(0)) c.set(0, sum_to(div(c.grad(), bv), av.shape()));
      if (c.needs(1)) c.set(1, sum_to(neg(div(mul(c.grad(), av), mul(bv, bv))), bv.shape()));
    });
  if (any_tangent({&a, &b}))
    propagate_tangent("div", {&a, &b}, {&y}, [&](JvpCtx& c) {  // (ta - y tb) / b
      const Tensor num = tangent_add(c.tangent(0), c.has(1) ? neg(mul(y, c.tangent(1))) : Tensor());
      c.set(0, tangent_to(div(num, b), y.shape()));
    });
  return y;
}

Tensor div(const Tensor& a, double s) {
  Tensor y = map_floating(a, "div", [s](auto u) { return u / s; });
  if (any_requires_grad({&a})) record("div_scalar", {&a}, {&y}, [s](BackwardCtx& c) { c.set(0, div(c.grad(), s)); });
  if (any_tangent({&a}))
    propagate_tangent("div_scalar", {&a}, {&y}, [s](JvpCtx& c) { c.set(0, div(c.tangent(0), s)); });
  return y;
}

Tensor div(double s, const Tensor& b) {
  Tensor y = map_floating(b, "rdiv", [s](auto v) { return s / v; });
  if (any_requires_grad({&b}))
    record("rdiv_scalar", {&b}, {&y}, [s, sb = SavedTensor(b)](BackwardCtx& c) {
      const Tensor bv = sb.get("rdiv");
      c.set(0, neg(div(mul(c.grad(), s), mul(bv, bv))));
    });
  if (any_tangent({&b}))
    propagate_tangent("rdiv_scalar", {&b}, {&y}, [&](JvpCtx& c) { c.set(0, neg(div(mul(c.tangent(0), y), b))); });
  return y;
}

Tensor neg(const Tensor& a) {
  Tensor y = map_floating(a, "neg", [](auto u) { return -u; });
  if (any_requires_grad({&a})) record("neg", {&a}, {&y}, [](BackwardCtx& c) { c.set(0, neg(c.grad())); });
  if (any_tangent({&a})) propagate_tangent("neg", {&a}, {&y}, [](JvpCtx& c) { c.set(0, neg(c.tangent(0))); });
  return y;
}

Tensor pow(const Tensor& a, double p) {
  Tensor y = map_floating(a, "pow", [p](auto u) { return std::pow(u, static_cast<decltype(u)>(p)); });
  if (any_requires_grad({&a}))
    record("pow", {&a}, {&y}, [p, sa = SavedTensor(a)](BackwardCtx& c) {
      if (p == 0.0) {
        c.set(0, mul(c.grad(), 0.0));
        return;
      }
      c.set(0, mul(c.grad(), mul(pow(sa.get("pow"), p - 1.0), p)));
    });
  if (any_tangent({&a}))
    propagate_tangent("pow", {&a}, {&y}, [&](JvpCtx& c) {
      c.set(0, p == 0.0 ? mul(c.tangent(0), 0.0) : mul(c.tangent(0), mul(pow(a, p - 1.0), p)));
    });
  return y;
}

Tensor square(const Tensor& a) { return mul(a, a); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator+(const Tensor& a, double b) { return add(a, b); }
Tensor operator+(double a, const Tensor& b) { return add(b, a); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
Tensor operator-(double a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator/(const Tensor& a, double b) { return div(a, b); }
Tensor operator/(double a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }

}  // namespace ag
