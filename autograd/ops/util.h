#pragma once
/// @file ops/util.h
/// Helpers shared by the op implementations: dtype checks and kernel launchers that allocate the
/// result. Not part of the user-facing API.

#include "autograd/kernels/elementwise.h"
#include "autograd/tensor.h"

namespace ag::detail {

/// The rules of every in-place op (ops/inplace.cpp): refused on an expanded view (one element written
/// twice), and, while grad mode is on, on a view made under NoGradGuard of a tensor requiring grad, a
/// recorded result, a leaf requiring grad, or with a right-hand side `other` requiring grad (naming
/// `instead`, the out-of-place op to use).
void check_inplace(const Tensor& self, const Tensor* other, const char* op,
                   const char* instead = "the out-of-place op");
/// Forward mode of an in-place op that changes or creates self's tangent: refuses (naming `op`) a
/// self whose storage is shared with another tensor (Note: forward mode of in-place ops, ops/inplace.cpp).
void check_tangent_write(const Tensor& self, const char* op);

/// For JVP rules (autograd/forward_grad.h): `t` broadcast to `shape` (copied to a contiguous
/// tensor when it grows, so that an in-place op on the dual result never writes through an
/// expanded tangent); an undefined `t` (an input without tangent) stays undefined.
Tensor tangent_to(const Tensor& t, const Shape& shape);
/// a + b for JVP rules, either of which may be undefined (an input without tangent): the other one;
/// undefined when both are. Broadcasts as add.
Tensor tangent_add(const Tensor& a, const Tensor& b);

/// check_same_dtype's throw: names `op` and the undefined tensor or the two dtypes.
[[noreturn, gnu::noinline, gnu::cold]] inline void same_dtype_error(const Tensor& a, const Tensor& b, const char* op) {
  a.checked(op);
  b.checked(op);
  fail("{}: dtype mismatch, {} vs {} (convert one with .to(dtype); there is no implicit promotion)", op, describe(a),
       describe(b));
}

/// Throws naming `op` unless a and b are defined and share a dtype (there is no silent promotion).
/// The test inline, the message out of line (every binary op runs it).
inline void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  if (a.defined() && b.defined() && a.impl()->dtype == b.impl()->dtype) [[likely]]
    return;
  same_dtype_error(a, b, op);
}

/// Logits z floating [N, C] and target int64 [N] with entries in [0, C), for softmax_cross_entropy and
/// its backward op (ops/fused.cpp, ops/fused_backward.cpp); throws naming `op`.
void check_cross_entropy_args(const Tensor& z, const Tensor& target, const char* op);

/// softmax_cross_entropy_backward (ops/fused.h) given also the forward's per-row (shift, log of the sum)
/// [N, 2] of these logits (kernels::softmax_xent_forward), or an undefined tensor to compute them.
Tensor softmax_cross_entropy_backward(const Tensor& grad, const Tensor& logits, const Tensor& target,
                                      const Tensor& stats);

/// Whether a non-contiguous x of rank >= 2 is a row-major layout with its last two dims swapped
/// (x.t(), transpose(-1, -2) of a batch): a GEMM reads its buffer with a transpose flag instead of
/// copying the view (matmul, ops/linalg.cpp; a cell's W_hh, ops/fused.cpp). Size-1 dims match any stride.
inline bool transposed_row_major(const TensorImpl& x) {
  if (x.is_contiguous() || x.shape.size() < 2) return false;
  Shape sizes = x.shape, strides = x.view->strides;
  const std::size_t r = sizes.size();
  std::swap(sizes[r - 1], sizes[r - 2]);
  std::swap(strides[r - 1], strides[r - 2]);
  const Shape want = contiguous_strides(sizes);
  for (std::size_t i = 0; i < r; ++i)
    if (sizes[i] != 1 && strides[i] != want[i]) return false;
  return true;
}

/// Strides that read `x` (any layout) as the broadcast shape `out`: 0 on broadcast dims.
inline Shape read_strides(const TensorImpl& x, const Shape& out) {
  Shape st(out.size(), 0);
  const Shape xs = x.strides();
  const std::size_t off = out.size() - x.shape.size();
  for (std::size_t i = 0; i < x.shape.size(); ++i) st[off + i] = x.shape[i] == 1 ? 0 : xs[i];
  return st;
}

/// y = f(x) elementwise for floating x; f is a generic lambda over the element type. A
/// non-contiguous view is read through its strides (no copy).
template <class F>
Tensor map_floating(const Tensor& x, const char* op, F f) {
  const auto& im = x.checked(op);
  Tensor y = empty(im.shape, im.dtype, op);
  dispatch_floating(im.dtype, op, [&]<class T>() {
    if (im.numel == 1) {  // tiny tensors: no kernel launch (one element needs no strides)
      *y.impl()->data_unchecked<T>() = static_cast<T>(f(*im.data_unchecked<T>()));
      return;
    }
    auto g = [&](T v) { return static_cast<T>(f(v)); };
    if (im.view) [[unlikely]]
      kernels::map_strided(im.data_unchecked<T>(), im.view->strides, y.data<T>(), im.shape, g);
    else kernels::map(im.data_unchecked<T>(), y.data<T>(), im.numel, g);
  });
  return y;
}

/// y = f(a, b) with broadcasting for floating a and b of one dtype.
template <class F>
Tensor zip_floating(const Tensor& a, const Tensor& b, const char* op, F f) {
  check_same_dtype(a, b, op);
  const TensorImpl& ia = *a.impl();
  const TensorImpl& ib = *b.impl();
  if (ia.numel == 1 && ib.numel == 1) {
    // one element each: every dim is 1, so the broadcast shape is the longer of the two
    Tensor y = empty(ia.shape.size() >= ib.shape.size() ? ia.shape : ib.shape, ia.dtype, op);
    dispatch_floating(ia.dtype, op, [&]<class T>() {
      *y.impl()->data_unchecked<T>() = static_cast<T>(f(*ia.data_unchecked<T>(), *ib.data_unchecked<T>()));
    });
    return y;
  }
  const Shape out = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor y = empty(out, a.dtype(), op);
  dispatch_floating(a.dtype(), op, [&]<class T>() {
    auto g = [&](T u, T v) { return static_cast<T>(f(u, v)); };
    if (ia.view || ib.view) [[unlikely]]  // non-contiguous views: read through the strides, no copy
      kernels::zip_strided(ia.data_unchecked<T>(), read_strides(ia, out), ib.data_unchecked<T>(), read_strides(ib, out),
                           y.data<T>(), out, g);
    else kernels::zip(a.cdata<T>(), a.shape(), b.cdata<T>(), b.shape(), y.data<T>(), out, g);
  });
  return y;
}

}  // namespace ag::detail
