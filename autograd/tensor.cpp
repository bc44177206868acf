#include "autograd/tensor.h"

#include <cstdlib>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "autograd/forward_grad.h"
#include "autograd/grad_mode.h"
#include "autograd/kernels/elementwise.h"
#include "autograd/memory.h"
#include "autograd/tape.h"

namespace ag {

std::string_view dtype_name(Dtype d) {
  switch (d) {
    case Dtype::Float32:
      return "float32";
    case Dtype::Float64:
      return "float64";
    case Dtype::Int64:
      return "int64";
    case Dtype::Int32:
      return "int32";
    case Dtype::Bool:
      return "bool";
  }
  return "?";
}

IntrusivePtr<TensorImpl> new_impl() { return make_intrusive<TensorImpl>(); }

void throw_undefined(const char* op) {
  fail("{}: the tensor is undefined (default-constructed or an absent gradient)", op);
}

void throw_dtype_mismatch(const TensorImpl& im, Dtype requested) {
  fail("data<T>: requested {} but the tensor {} holds {}", dtype_name(requested), shape_str(im.shape),
       dtype_name(im.dtype));
}

void throw_not_contiguous(const TensorImpl& im, const char* op) {
  fail(
      "{}: the tensor {}{} is a non-contiguous view (strides {}); its elements are not at data()[i]: "
      "call contiguous() first, or use data_ptr() with strides()",
      op, dtype_name(im.dtype), shape_str(im.shape), shape_str(im.view->strides));
}

Shape TensorImpl::strides() const { return view ? view->strides : contiguous_strides(shape); }

const TensorImpl* dense_slow(const TensorImpl& im) {
  ViewMeta& v = *im.view;
  std::lock_guard<std::mutex> lock(v.mutex);
  if (!v.dense || v.dense_version != im.storage->version) {
    auto d = new_impl();
    d->shape = im.shape;
    d->numel = im.numel;
    d->dtype = im.dtype;
    const std::size_t nbytes = static_cast<std::size_t>(im.numel) * itemsize(im.dtype);
    try {
      d->storage = make_intrusive<Storage>(nbytes);
    } catch (const std::bad_alloc&) {
      fail("contiguous: can't allocate memory: you tried to allocate {} bytes for {}{}", nbytes, dtype_name(im.dtype),
           shape_str(im.shape));
    }
    if (im.numel > 0)
      dispatch_every(im.dtype, [&]<class T>() {
        kernels::strided_copy(im.data_unchecked<T>(), v.strides, d->data_unchecked<T>(), im.shape);
      });
    v.dense = std::move(d);
    v.dense_version = im.storage->version;
  }
  return v.dense.get();
}

TensorImpl::~TensorImpl() {
  if (hooks) [[unlikely]]
    detail::delete_hooks(hooks);
  if (in_live_count || retains_grad) Tape::release_impl(this, in_live_count, retains_grad);
  if (has_tangent) [[unlikely]]
    detail::erase_tangent(this);
}

bool TensorImpl::adopt_borrowed(TensorImpl* t) noexcept {
  // Borrowers live in nodes of the owner thread's tape, which is destroyed before the thread's
  // objects may go elsewhere: with saved_refs > 0 the hook runs on the owner thread.
  if (t->saved_refs == 0 || !t->owned_here()) return false;
  t->revive();  // the reference that the last borrower's drop_saved gives back
  t->adopted = true;
  // For the tape it is gone now (flags cleared, so its destruction later does not count it twice).
  // release_impl may rewind the tape, whose nodes drop the borrowers and, with the last, free t.
  const bool live = std::exchange(t->in_live_count, false), retains = std::exchange(t->retains_grad, false);
  if (live || retains) Tape::release_impl(t, live, retains);
  return true;
}

std::int64_t Tensor::size(std::int64_t d) const {
  const auto& s = shape();
  if (s.empty()) fail("size: dim {} requested of a 0-d tensor {}", d, describe(*this));
  return s[static_cast<std::size_t>(normalize_dim(d, static_cast<std::int64_t>(s.size()), "size"))];
}

template <ScalarConvertible T>
T Tensor::item() const {
  const auto& im = checked("item");
  if (im.numel != 1)
    fail("item: a tensor with {} elements (shape {}) cannot be converted to a scalar", im.numel, shape_str(im.shape));
  return dispatch_every(im.dtype, [&]<class S>() {
    const S v = *im.data_unchecked<S>();  // one element: its position needs no strides
    if constexpr (std::is_same_v<T, bool>) {
      return v != 0;  // NaN is true, as libtorch's
    } else if constexpr (std::is_integral_v<T> && std::is_integral_v<S> && sizeof(T) < sizeof(S)) {
      if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max())
        fail("item: {} does not fit in a {}-bit integer (tensor {})", v, sizeof(T) * 8, describe(*this));
    } else if constexpr (std::is_integral_v<T> && std::is_floating_point_v<S>) {
      if (!(v >= static_cast<S>(std::numeric_limits<T>::min()) && v < -static_cast<S>(std::numeric_limits<T>::min())))
        fail("item: {} does not fit in a {}-bit integer (tensor {})", static_cast<double>(v), sizeof(T) * 8,
             describe(*this));
    }
    return static_cast<T>(v);
  });
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  const auto& im = dense("to_vector");
  std::vector<T> out(static_cast<std::size_t>(im.numel));
  dispatch_every(im.dtype, [&]<class S>() {
    const S* p = im.data_unchecked<S>();
    for (std::int64_t i = 0; i < im.numel; ++i) out[static_cast<std::size_t>(i)] = static_cast<T>(p[i]);
  });
  return out;
}

template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template std::int64_t Tensor::item<std::int64_t>() const;
template int Tensor::item<int>() const;
template bool Tensor::item<bool>() const;
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<std::int64_t> Tensor::to_vector<std::int64_t>() const;

Tensor& Tensor::requires_grad_(bool on) {
  const auto& im = checked("requires_grad_");
  if (on && !is_floating(im.dtype))
    fail("requires_grad_: only floating tensors can require gradients, got {} {}", dtype_name(im.dtype),
         shape_str(im.shape));
  if (im.slot >= 0 && !on)
    fail("requires_grad_: cannot turn off requires_grad on a recorded (non-leaf) tensor {}; use detach()",
         describe(*this));
  impl_->requires_grad = on;
  return *this;
}

bool Tensor::requires_grad() const { return checked("requires_grad").requires_grad; }
bool Tensor::is_leaf() const { return checked("is_leaf").slot < 0; }

Tensor Tensor::grad() const {
  const auto& im = checked("grad");
  return Tensor(im.grad);
}

void Tensor::set_grad(const Tensor& g) const {
  checked("set_grad");
  if (g.defined() && (g.shape() != impl_->shape || g.dtype() != impl_->dtype))
    fail("set_grad: gradient {} does not match tensor {}", describe(g), describe(*this));
  impl_->grad = g.impl_ptr();
}

void Tensor::set_data(const Tensor& new_data) const {
  auto& im = const_cast<TensorImpl&>(checked("set_data"));
  const auto& src = new_data.checked("set_data");
  if (im.slot >= 0) fail("set_data: {} is a recorded result; only leaves can take new data", describe(*this));
  if (im.requires_grad && !is_floating(src.dtype))
    fail("set_data: {} requires grad but the new data is {}", describe(*this), describe(new_data));
  if (im.shape != src.shape || im.dtype != src.dtype) im.grad.reset();
  im.storage = src.storage;
  im.offset = src.offset;
  im.shape = src.shape;
  im.view.reset();
  if (src.view) {
    im.view = std::make_unique<ViewMeta>();
    im.view->strides = src.view->strides;
  }
  im.numel = src.numel;
  im.dtype = src.dtype;
  ++im.storage->version;
}

void Tensor::bump_version() const { ++checked("bump_version").storage->version; }

void Tensor::retain_grad() const {
  const auto& im = checked("retain_grad");
  if (im.slot < 0) return;
  Tape& tape = Tape::current();
  if (im.tape != &tape || im.generation != tape.generation())
    fail("retain_grad: {} belongs to another thread's tape or to a graph already freed", describe(*this));
  tape.retain(im.slot, impl_.get());
}

std::uint64_t Tensor::version() const { return checked("version").storage->version; }

namespace {

// empty()'s checks of a shape with dims: its number of elements, or ag::Error naming `op`. Out of line,
// so that empty() itself stays small enough for the allocations to be inlined into it.
[[gnu::noinline]] std::int64_t checked_numel(const Shape& shape, Dtype dtype, const char* op) {
  for (auto d : shape)
    if (d < 0) fail("{}: negative size in shape {}", op, shape_str(shape));
  std::int64_t numel = 1;
  try {
    numel = shape_numel(shape);
  } catch (const Error&) {
    fail("{}: can't allocate memory: the number of elements of {}{} overflows int64", op, dtype_name(dtype),
         shape_str(shape));
  }
  const std::size_t item = itemsize(dtype);
  if (static_cast<std::uint64_t>(numel) > (std::uint64_t(1) << 62) >> (item == 4 ? 2 : 3))  // 2^62 / itemsize
    fail("{}: can't allocate memory: {}{} needs {} elements of {} bytes, more bytes than can be addressed", op,
         dtype_name(dtype), shape_str(shape), numel, item);
  return numel;
}

[[noreturn, gnu::noinline, gnu::cold]] void empty_out_of_memory(const Shape& shape, Dtype dtype, std::size_t nbytes,
                                                                const char* op) {
  fail("{}: can't allocate memory: you tried to allocate {} bytes for {}{}", op, nbytes, dtype_name(dtype),
       shape_str(shape));  // as libtorch's message
}

}  // namespace

// flatten: the two make_intrusive calls inlined (GCC keeps them out of line otherwise; callgrind on the
// 0-d chain: about 40 instructions fewer per tensor made)
[[gnu::flatten]] Tensor empty(const Shape& shape, Dtype dtype, const char* op) {
  // a 0-d shape has one element, which no check can refuse
  const std::int64_t numel = shape.empty() ? 1 : checked_numel(shape, dtype, op);
  const std::size_t nbytes = static_cast<std::size_t>(numel) * itemsize(dtype);
  auto im = make_intrusive<TensorImpl>();
  if (!shape.empty()) im->shape = shape;  // (a new impl's shape is 0-d already)
  im->numel = numel;
  im->dtype = dtype;
  try {
    im->storage = make_intrusive<Storage>(nbytes);
  } catch (const std::bad_alloc&) {
    empty_out_of_memory(shape, dtype, nbytes, op);
  }
  return Tensor(std::move(im));
}

Tensor alias_with_shape(const Tensor& base, const Shape& shape) {
  const auto& b = base.checked("alias");
  if (b.view) [[unlikely]]  // an internal misuse: the caller must pass a contiguous tensor
    throw_not_contiguous(b, "alias_with_shape");
  auto im = new_impl();
  im->storage = b.storage;
  im->offset = b.offset;
  im->shape = shape;
  im->numel = shape_numel(shape);
  im->dtype = b.dtype;
  return Tensor(std::move(im));
}

Tensor make_view(const Tensor& base, const Shape& sizes, const Shape& strides, std::int64_t offset) {
  const auto& b = base.checked("view");
  auto im = new_impl();
  im->storage = b.storage;
  im->offset = offset;
  im->shape = sizes;
  im->numel = shape_numel(sizes);
  im->dtype = b.dtype;
  im->grad_base_view = b.grad_base_view || (b.requires_grad && !GradMode::is_enabled());
  // row-major strides need no ViewMeta; sizes 1 (and every stride of an empty tensor) do not matter
  bool rowmajor = true;
  if (im->numel > 1) {
    std::int64_t expect = 1;
    for (std::size_t i = sizes.size(); i-- > 0;) {
      if (sizes[i] == 1) continue;
      if (strides[i] != expect) {
        rowmajor = false;
        break;
      }
      expect *= sizes[i];
    }
  }
  if (!rowmajor) {
    im->view = std::make_unique<ViewMeta>();
    im->view->strides = strides;
  }
  return Tensor(std::move(im));
}

std::int64_t Tensor::stride(std::int64_t d) const {
  const auto& im = checked("stride");
  if (im.shape.empty()) fail("stride: dim {} requested of a 0-d tensor {}", d, describe(*this));
  const auto i = static_cast<std::size_t>(normalize_dim(d, static_cast<std::int64_t>(im.shape.size()), "stride"));
  return im.strides()[i];
}

Tensor Tensor::detach() const {
  const auto& im = checked("detach");
  Tensor d = make_view(*this, im.shape, im.strides(), im.offset);
  d.impl()->grad_base_view =
      false;  // as libtorch: writing into a detached tensor is allowed (the version counter is shared)
  return d;
}

std::string describe(const Tensor& t) {
  if (!t.defined()) return "undefined";
  return fmt::format("{}{}", dtype_name(t.dtype()), shape_str(t.shape()));
}

}  // namespace ag

// Keep TensorImpl in the pool's 192-byte size class on 64-bit targets (see the note in struct TensorImpl).
static_assert(sizeof(void*) != 8 || sizeof(ag::TensorImpl) <= 192, "TensorImpl outgrew the 192-byte size class");
