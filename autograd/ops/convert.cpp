#include "autograd/ops/convert.h"

#include <cstring>
#include <type_traits>

#include "autograd/forward_grad.h"
#include "autograd/kernels/elementwise.h"
#include "autograd/tape.h"

namespace ag {

Tensor clone(const Tensor& x) {
  const auto& im = x.checked("clone");
  Tensor y = empty(im.shape, im.dtype);
  if (im.numel > 0) {
    // the offset is in elements: data_unchecked<std::byte>() would count it in bytes
    const TensorImpl& d = x.dense("clone");
    std::memcpy(y.raw_data(),
                static_cast<const std::byte*>(d.storage->data) +
                    d.offset * static_cast<std::int64_t>(itemsize(d.dtype)),
                static_cast<std::size_t>(im.numel) * itemsize(im.dtype));
  }
  if (any_requires_grad({&x})) record("clone", {&x}, {&y}, [](BackwardCtx& c) { c.set(0, c.grad()); });
  if (any_tangent({&x})) propagate_tangent("clone", {&x}, {&y}, [](JvpCtx& c) { c.set(0, c.tangent(0)); });
  return y;
}

Tensor to(const Tensor& x, Dtype dtype) {
  const auto& im = x.checked("to");
  if (im.dtype == dtype) return x;
  Tensor y = empty(im.shape, dtype);
  dispatch_every(im.dtype, [&]<class S>() {
    dispatch_every(dtype, [&]<class D>() {
      const S* s = x.cdata<S>();
      D* d = y.cdata<D>();
      if constexpr (std::is_same_v<D, std::int64_t> && std::is_floating_point_v<S>) {
        for (std::int64_t i = 0; i < im.numel; ++i)
          if (!kernels::fits_int64(static_cast<double>(s[i])))
            fail("to: {} holds {} at element {}, which cannot be represented as int64", describe(x), s[i], i);
      } else if constexpr (std::is_same_v<D, std::int32_t> && !std::is_same_v<S, std::int32_t> &&
                           !std::is_same_v<S, bool>) {
        for (std::int64_t i = 0; i < im.numel; ++i)
          if (!(static_cast<double>(s[i]) >= -2147483648.0 && static_cast<double>(s[i]) < 2147483648.0))
            fail("to: {} holds {} at element {}, which cannot be represented as int32", describe(x), s[i], i);
      }
      // to bool: nonzero (and NaN) is true
      for (std::int64_t i = 0; i < im.numel; ++i) d[i] = static_cast<D>(s[i]);
    });
  });
  if (is_floating(dtype) && any_requires_grad({&x}))
    record("to", {&x}, {&y}, [from = im.dtype](BackwardCtx& c) { c.set(0, to(c.grad(), from)); });
  // the tangent converted the same way; an integer or bool result has none (as PyTorch)
  if (is_floating(dtype) && any_tangent({&x}))
    propagate_tangent("to", {&x}, {&y}, [dtype](JvpCtx& c) { c.set(0, to(c.tangent(0), dtype)); });
  return y;
}

Tensor detach(const Tensor& x) { return x.detach(); }

}  // namespace ag
