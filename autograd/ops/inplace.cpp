// In-place ops. They bump the storage version (so backward detects a changed saved tensor) and are
// refused while grad mode is on for tensors the tape tracks: a leaf that requires grad, a recorded
// result, or a right-hand side that requires grad. Under NoGradGuard they are how optimizers update.
// Tensor operands must be floating; int64 tensors take integral scalars (add_/sub_/mul_/fill_/zero_) and
// never div_, and an int64 result that would overflow is an error.
//
// Note: forward mode of in-place ops
// ==================================
// An in-place op on a dual tensor, or with a dual operand, computes self's new tangent out of place
// (from the old values, before writing) and replaces self's tangent with it (detail::set_tangent):
// tangents are never written in place (Note: forward mode in forward_grad.h). An operand's tangent
// written into a tensor without one gives it one (x.copy_(dual) takes the tangent, x.add_(dual)
// takes alpha times it); fill_ and zero_ give zeros to a tensor that had one; ops that leave the
// tangent as it is (add_ of a scalar or of a tensor without tangent) touch nothing.
// Views: a tangent belongs to one TensorImpl, so a view's new tangent would not reach its base's
// (nor the base's its views'), where PyTorch keeps a view's tangent a view of its base's. Rather
// than a silently wrong tangent, an op that changes or creates a tangent refuses (ag::Error naming
// it, nothing changed) a tensor whose storage is shared with any other tensor: a view or alias of a
// base, a base with views alive, or the result of make_dual while its primal lives (a view of it).
// Sharing is the Storage's reference count (IntrusivePtr's unique(): one per TensorImpl, exact on
// the thread that made the storage and "shared" on any other, so the check can only err towards
// refusing). clone() gives a tensor of its own.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "autograd/factory.h"
#include "autograd/forward_grad.h"
#include "autograd/ops/arith.h"
#include "autograd/ops/convert.h"
#include "autograd/ops/util.h"
#include "autograd/tape.h"

namespace ag {

namespace detail {

void check_inplace(const Tensor& self, const Tensor* other, const char* op, const char* instead) {
  const auto& im = self.checked(op);
  if (im.view) {  // libtorch's has_internal_overlap: a stride 0 over a size > 1 writes one element twice
    const Shape& st = im.view->strides;
    for (std::size_t i = 0; i < st.size(); ++i)
      if (st[i] == 0 && im.shape[i] > 1)
        fail(
            "{}: unsupported operation: more than one element of the written-to tensor {} (strides {}) refers to a "
            "single memory location (an expanded view); clone() it before writing in place",
            op, describe(self), shape_str(st));
  }
  if (!GradMode::is_enabled()) return;
  if (im.grad_base_view)
    fail(
        "{}: {} is a view, made while grad mode was off, of a tensor that requires grad; an in-place change of it "
        "with grad mode on would not be recorded. Make the change under ag::NoGradGuard, or clone() the view",
        op, describe(self));
  if (im.slot >= 0)
    fail("{}: in-place change of {}, a result recorded on the tape, is not supported; use {}", op, describe(self),
         instead);
  if (im.requires_grad)
    fail("{}: a leaf {} that requires grad is being used in an in-place operation; wrap it in ag::NoGradGuard", op,
         describe(self));
  if (other && other->defined() && other->requires_grad())
    fail("{}: the right-hand side {} requires grad, but an in-place op into {} is not recorded; use {}", op,
         describe(*other), describe(self), instead);
}

void check_tangent_write(const Tensor& self, const char* op) {
  if (!self.impl()->storage->unique())
    fail(
        "{}: forward-mode AD: this in-place op would change the tangent of {}, whose storage is shared with other "
        "tensors (a view or alias of a base, a base with views, or a make_dual result while its primal lives); "
        "their tangents would not follow. clone() the tensor before writing into it in place",
        op, describe(self));
}

}  // namespace detail

namespace {

using detail::check_inplace;

/// The forward mode of an in-place op (Note: forward mode of in-place ops), when self or `other`
/// (may be null) carries a tangent: after the op's checks (`check`), `jvp(ts, to)` gives self's new
/// tangent from self's (ts) and other's (to) tangents, either undefined when absent, or an undefined
/// tensor when self's tangent stays as it is; then `write` changes the values, and the tangent is set.
template <class Check, class Jvp, class Write>
Tensor& inplace_dual(Tensor& self, const Tensor* other, const char* op, Check check, Jvp jvp, Write write) {
  check();
  const Tensor ts = detail::get_tangent(self), to = other ? detail::get_tangent(*other) : Tensor();
  Tensor nt;
  {
    detail::FwSuspend suspend;  // a JVP rule: its ops on the primals are plain ops
    if (is_floating(self.dtype()) && (ts.defined() || to.defined())) {
      nt = jvp(ts, to);
      if (nt.defined()) {
        detail::check_tangent_write(self, op);
        if (nt.shape() != self.shape()) nt = detail::tangent_to(nt, self.shape());
      }
    }
    write();
  }
  if (nt.defined()) detail::set_tangent(self, nt, op);
  return self;
}

/// Whether self or other carries a tangent (forward mode on): the op takes inplace_dual's path.
inline bool dual_inplace(const Tensor& self, const Tensor* other) {
  return other ? any_tangent({&self, other}) : any_tangent({&self});
}

// An in-place op on a non-contiguous view: `fn` applies it to a contiguous copy of the view's values,
// which is then written back through the strides into the shared storage.
template <class Fn>
Tensor& through_view(Tensor& self, Fn fn) {
  Tensor tmp = self.detach().contiguous();
  fn(tmp);
  const auto& im = *self.impl();
  if (im.numel > 0)
    dispatch_every(im.dtype, [&]<class T>() {
      kernels::strided_write(tmp.cdata<T>(), self.data_ptr<T>(), im.view->strides, im.shape);
    });
  ++im.storage->version;
  return self;
}

void check_binary(const Tensor& self, const Tensor& other, const char* op) {
  check_inplace(self, &other, op);
  detail::check_same_dtype(self, other, op);
  if (broadcast_shapes(self.shape(), other.shape(), op) != self.shape())
    fail("{}: {} cannot be broadcast into {} in place", op, describe(other), describe(self));
}

template <class F>
Tensor& apply_inplace(Tensor& self, const Tensor& other, const char* op, F f) {
  check_binary(self, other, op);
  if (self.impl()->view) [[unlikely]]
    return through_view(self, [&](Tensor& tmp) { apply_inplace(tmp, other, op, f); });
  dispatch_floating(self.dtype(), op, [&]<class T>() {
    T* d = self.data<T>();
    if (other.numel() == self.numel()) {
      const T* s = other.cdata<T>();
      if (s == d) {
        for (std::int64_t i = 0; i < self.numel(); ++i) d[i] = static_cast<T>(f(d[i], d[i]));
      } else {
        for (std::int64_t i = 0; i < self.numel(); ++i) d[i] = static_cast<T>(f(d[i], s[i]));
      }
    } else {
      Tensor b = empty(self.shape(), self.dtype());
      kernels::broadcast_to(other.cdata<T>(), other.shape(), b.data<T>(), self.shape());
      const T* s = b.data<T>();
      for (std::int64_t i = 0; i < self.numel(); ++i) d[i] = static_cast<T>(f(d[i], s[i]));
    }
  });
  ++self.impl()->storage->version;
  return self;
}

enum class ScalarOp { Add, Mul, Div, Fill };

// int64 tensors take integral values only (libtorch refuses a floating result in a Long tensor; fill_
// truncates as libtorch does), refuse div_, and refuse results that overflow (checked before writing).
void apply_scalar_int64(Tensor& self, const char* op, ScalarOp kind, double v) {
  if (kind == ScalarOp::Div)
    fail("{}: true division cannot be done in place on {} (the result would be floating)", op, describe(self));
  if (!kernels::fits_int64(v) || (kind != ScalarOp::Fill && v != std::trunc(v)))
    fail("{}: value {} cannot be applied in place to {}; it needs an integral value within int64 range", op, v,
         describe(self));
  const auto s = static_cast<std::int64_t>(v);
  std::int64_t* d = self.data<std::int64_t>();
  const std::int64_t n = self.numel();
  std::int64_t r = 0;
  if (kind == ScalarOp::Add || kind == ScalarOp::Mul)
    for (std::int64_t i = 0; i < n; ++i)
      if (kind == ScalarOp::Add ? __builtin_add_overflow(d[i], s, &r) : __builtin_mul_overflow(d[i], s, &r))
        fail("{}: int64 overflow at element {} of {} ({} and {})", op, i, describe(self), d[i], s);
  for (std::int64_t i = 0; i < n; ++i) d[i] = kind == ScalarOp::Add ? d[i] + s : kind == ScalarOp::Mul ? d[i] * s : s;
}

Tensor& apply_scalar(Tensor& self, const char* op, ScalarOp kind, double v) {
  check_inplace(self, nullptr, op);
  if (self.impl()->view) [[unlikely]]
    return through_view(self, [&](Tensor& tmp) { apply_scalar(tmp, op, kind, v); });
  if (self.dtype() == kInt64) {
    apply_scalar_int64(self, op, kind, v);
  } else {
    dispatch_floating(self.dtype(), op, [&]<class T>() {
      T* d = self.data<T>();
      const T s = static_cast<T>(v);
      const std::int64_t n = self.numel();
      switch (kind) {
        case ScalarOp::Add:
          kernels::map(d, d, n, [s](T a) { return a + s; });
          break;
        case ScalarOp::Mul:
          kernels::map(d, d, n, [s](T a) { return a * s; });
          break;
        case ScalarOp::Div:
          kernels::map(d, d, n, [s](T a) { return a / s; });
          break;
        case ScalarOp::Fill:
          std::fill(d, d + n, s);
          break;
      }
    });
  }
  ++self.impl()->storage->version;
  return self;
}

/// A binary in-place op: plain, or through inplace_dual when a tangent is involved.
template <class F, class Jvp>
Tensor& binary_inplace(Tensor& self, const Tensor& other, const char* op, F f, Jvp jvp) {
  if (!dual_inplace(self, &other)) [[likely]]
    return apply_inplace(self, other, op, f);
  return inplace_dual(
      self, &other, op, [&] { check_binary(self, other, op); }, jvp, [&] { apply_inplace(self, other, op, f); });
}

/// A scalar in-place op: plain, or through inplace_dual when self carries a tangent.
template <class Jvp>
Tensor& scalar_inplace(Tensor& self, const char* op, ScalarOp kind, double v, Jvp jvp) {
  if (!dual_inplace(self, nullptr)) [[likely]]
    return apply_scalar(self, op, kind, v);
  return inplace_dual(
      self, nullptr, op, [&] { check_inplace(self, nullptr, op); },
      [&](const Tensor& ts, const Tensor&) { return jvp(ts); }, [&] { apply_scalar(self, op, kind, v); });
}

/// ts + alpha to (self's tangent unchanged when other has none).
Tensor add_jvp(const Tensor& ts, const Tensor& to, double alpha) {
  if (!to.defined()) return {};
  return detail::tangent_add(ts, alpha == 1.0 ? to : mul(to, alpha));
}

}  // namespace

Tensor& Tensor::add_(const Tensor& o, double alpha) {
  return binary_inplace(
      *this, o, "add_", [alpha](auto a, auto b) { return a + static_cast<decltype(a)>(alpha) * b; },
      [alpha](const Tensor& ts, const Tensor& to) { return add_jvp(ts, to, alpha); });
}
Tensor& Tensor::sub_(const Tensor& o, double alpha) {
  return binary_inplace(
      *this, o, "sub_", [alpha](auto a, auto b) { return a - static_cast<decltype(a)>(alpha) * b; },
      [alpha](const Tensor& ts, const Tensor& to) { return add_jvp(ts, to, -alpha); });
}
Tensor& Tensor::mul_(const Tensor& o) {
  const Tensor& self = *this;
  return binary_inplace(
      *this, o, "mul_", [](auto a, auto b) { return a * b; },
      [&](const Tensor& ts, const Tensor& to) {  // ts o + self to
        return detail::tangent_add(ts.defined() ? ag::mul(ts, o) : Tensor(),
                                   to.defined() ? ag::mul(self, to) : Tensor());
      });
}
Tensor& Tensor::div_(const Tensor& o) {
  const Tensor& self = *this;
  return binary_inplace(
      *this, o, "div_", [](auto a, auto b) { return a / b; },
      [&](const Tensor& ts, const Tensor& to) {  // (ts - (self / o) to) / o
        return ag::div(detail::tangent_add(ts, to.defined() ? ag::neg(ag::mul(ag::div(self, o), to)) : Tensor()), o);
      });
}
Tensor& Tensor::add_(double v) { return apply_scalar(*this, "add_", ScalarOp::Add, v); }  // tangent unchanged
Tensor& Tensor::sub_(double v) { return apply_scalar(*this, "sub_", ScalarOp::Add, -v); }
Tensor& Tensor::mul_(double v) {
  return scalar_inplace(*this, "mul_", ScalarOp::Mul, v, [v](const Tensor& ts) { return ag::mul(ts, v); });
}
Tensor& Tensor::div_(double v) {
  return scalar_inplace(*this, "div_", ScalarOp::Div, v, [v](const Tensor& ts) { return ag::div(ts, v); });
}
Tensor& Tensor::fill_(double v) {
  return scalar_inplace(*this, "fill_", ScalarOp::Fill, v,
                        [](const Tensor& ts) { return ag::zeros(ts.shape(), ts.dtype()); });
}
Tensor& Tensor::zero_() { return fill_(0.0); }

namespace {
void check_copy(const Tensor& self, const Tensor& src) {
  check_inplace(self, &src, "copy_");
  src.checked("copy_");
  if (broadcast_shapes(self.shape(), src.shape(), "copy_") != self.shape())
    fail("copy_: {} cannot be broadcast into {}", describe(src), describe(self));
}
}  // namespace

Tensor& Tensor::copy_(const Tensor& src) {
  if (dual_inplace(*this, &src)) [[unlikely]]
    return inplace_dual(
        *this, &src, "copy_", [&] { check_copy(*this, src); },
        [&](const Tensor& ts, const Tensor& to) {  // src's tangent (in self's dtype), or zeros
          return to.defined() ? (to.dtype() == dtype() ? to : to.to(dtype())) : ag::zeros(ts.shape(), ts.dtype());
        },
        [&] { copy_(src); });
  check_copy(*this, src);
  const Tensor s = src.dtype() == dtype() ? src : src.detach().to(dtype());
  if (impl()->view) [[unlikely]]
    return through_view(*this, [&](Tensor& tmp) { tmp.copy_(s); });
  dispatch_every(dtype(), [&]<class T>() {
    if (s.numel() == numel()) std::memmove(data<T>(), s.cdata<T>(), static_cast<std::size_t>(numel()) * sizeof(T));
    else kernels::broadcast_to(s.cdata<T>(), s.shape(), data<T>(), shape());
  });
  ++impl()->storage->version;
  return *this;
}

}  // namespace ag
