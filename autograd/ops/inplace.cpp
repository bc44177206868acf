// In-place ops. They bump the storage version (so backward detects a changed saved tensor) and are
// refused while grad mode is on for tensors the tape tracks: a leaf that requires grad, a recorded
// result, or a right-hand side that requires grad. Under NoGradGuard they are how optimizers update.
// Tensor operands must be floating; int64 tensors take integral scalars (add_/sub_/mul_/fill_/zero_) and
// never div_, and an int64 result that would overflow is an error.
#include <algorithm>
#include <cmath>
#include <cstring>

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

}  // namespace detail

namespace {

using detail::check_inplace;

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

template <class F>
Tensor& apply_inplace(Tensor& self, const Tensor& other, const char* op, F f) {
  check_inplace(self, &other, op);
  detail::check_same_dtype(self, other, op);
  if (broadcast_shapes(self.shape(), other.shape(), op) != self.shape())
    fail("{}: {} cannot be broadcast into {} in place", op, describe(other), describe(self));
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

}  // namespace

Tensor& Tensor::add_(const Tensor& o, double alpha) {
  return apply_inplace(*this, o, "add_", [alpha](auto a, auto b) { return a + static_cast<decltype(a)>(alpha) * b; });
}
Tensor& Tensor::sub_(const Tensor& o, double alpha) {
  return apply_inplace(*this, o, "sub_", [alpha](auto a, auto b) { return a - static_cast<decltype(a)>(alpha) * b; });
}
Tensor& Tensor::mul_(const Tensor& o) {
  return apply_inplace(*this, o, "mul_", [](auto a, auto b) { return a * b; });
}
Tensor& Tensor::div_(const Tensor& o) {
  return apply_inplace(*this, o, "div_", [](auto a, auto b) { return a / b; });
}
Tensor& Tensor::add_(double v) { return apply_scalar(*this, "add_", ScalarOp::Add, v); }
Tensor& Tensor::sub_(double v) { return apply_scalar(*this, "sub_", ScalarOp::Add, -v); }
Tensor& Tensor::mul_(double v) { return apply_scalar(*this, "mul_", ScalarOp::Mul, v); }
Tensor& Tensor::div_(double v) { return apply_scalar(*this, "div_", ScalarOp::Div, v); }
Tensor& Tensor::fill_(double v) { return apply_scalar(*this, "fill_", ScalarOp::Fill, v); }
Tensor& Tensor::zero_() { return fill_(0.0); }

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace(*this, &src, "copy_");
  src.checked("copy_");
  if (broadcast_shapes(shape(), src.shape(), "copy_") != shape())
    fail("copy_: {} cannot be broadcast into {}", describe(src), describe(*this));
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
