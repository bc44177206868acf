#pragma once
/// @file tensor.h
/// ag::Tensor: a dense, contiguous, row-major tensor handle with shared storage.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <ostream>
#include <vector>

#include "autograd/dtype.h"
#include "autograd/intrusive_ptr.h"
#include "autograd/shape.h"

namespace ag {

class Tape;
struct TensorImpl;

[[noreturn]] void throw_undefined(const char* op);
[[noreturn]] void throw_dtype_mismatch(const TensorImpl& impl, Dtype requested);

/// A reference-counted buffer. Its version counter is bumped by every in-place op so that
/// backward can tell when a tensor it saved has been modified. Buffers of up to kInlineBytes live
/// inside the Storage itself (one allocation per small tensor); `data` then points at `small`.
struct Storage : RefCounted {
  static constexpr std::size_t kInlineBytes = 32;
  explicit Storage(std::size_t nbytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data = nullptr;
  std::size_t nbytes = 0;
  std::uint64_t version = 0;
  alignas(16) std::byte small[kInlineBytes];
};

/// What a Tensor handle points to. Users do not touch it; ops and the tape do.
struct TensorImpl : RefCounted {
  IntrusivePtr<Storage> storage;
  std::int64_t offset = 0;  ///< in elements
  Shape shape;
  std::int64_t numel = 1;
  Dtype dtype = Dtype::Float32;
  bool requires_grad = false;  ///< true for leaves that want .grad(), and for every recorded result
  IntrusivePtr<TensorImpl> grad;
  // Tape bookkeeping for recorded (non-leaf) results.
  Tape* tape = nullptr;
  std::uint64_t generation = 0;
  std::int64_t slot = -1;
  const char* op = nullptr;    ///< for a recorded result: the name of the op that made it (error messages)
  bool in_live_count = false;  ///< counted in its tape's live results: its release may rewind the tape
  bool retains_grad = false;   ///< the tape's retain list points to it (retain_grad)
  // Borrowing (Note: lifetimes in tape.h): a SavedTensor of a result holds no reference to it, so
  // that saving costs no TensorImpl copy and the tape's live count still sees only the user's
  // handles. These two fields keep a borrowed result alive after its last handle; owner thread only.
  bool adopted = false;          ///< no handle is left: kept (one reference) for the SavedTensors borrowing it
  std::uint32_t saved_refs = 0;  ///< SavedTensors borrowing it: while nonzero, its last handle adopts it
  /// Typed pointer to the first element, unchecked: the caller knows that dtype matches T.
  template <class T>
  T* data_unchecked() const {
    return reinterpret_cast<T*>(static_cast<std::byte*>(storage->data) + offset * static_cast<std::int64_t>(sizeof(T)));
  }
  TensorImpl() = default;
  TensorImpl(const TensorImpl&) = delete;
  TensorImpl& operator=(const TensorImpl&) = delete;
  ~TensorImpl();
  /// make_intrusive's hook when the last handle goes: a result that SavedTensors still borrow is kept
  /// (adopted) until the last of them goes, and leaves the tape's live count now (it may rewind).
  static bool adopt_at_zero(TensorImpl* t) noexcept;
  /// A borrowing SavedTensor goes: the last of them frees an adopted result.
  void drop_saved() noexcept {
    if (--saved_refs == 0 && adopted) {
      adopted = false;
      unref();
    }
  }
};

/// A handle to a tensor. Copying a Tensor shares its data (as in libtorch); `clone()` copies it.
/// Every tensor is contiguous; ops that are views in libtorch (transpose, select, slice, expand)
/// return new tensors here, while reshape/view/flatten/squeeze/unsqueeze/detach share storage.
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(IntrusivePtr<TensorImpl> impl) : impl_(std::move(impl)) {}

  /// False for a default-constructed (undefined) tensor, such as the grad() of a fresh leaf.
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  const Shape& sizes() const { return shape(); }
  /// Size of one dim (negative dims count from the end).
  std::int64_t size(std::int64_t dim) const;
  std::int64_t dim() const { return static_cast<std::int64_t>(shape().size()); }
  std::int64_t numel() const;
  Dtype dtype() const;
  Dtype scalar_type() const { return dtype(); }

  /// Typed pointer to the first element; T must match dtype() exactly.
  template <class T>
  T* data() const;
  /// Untyped pointer to the first element.
  void* raw_data() const;
  /// The single value of a one-element tensor, converted to T.
  template <class T>
  T item() const;
  /// All values in row-major order, converted to T.
  template <class T>
  std::vector<T> to_vector() const;

  // Autograd.
  /// Marks a leaf as wanting a gradient in .grad(); only floating leaves may.
  Tensor& requires_grad_(bool on = true);
  bool requires_grad() const;
  /// True unless the tensor is the recorded result of an op.
  bool is_leaf() const;
  /// The accumulated gradient of a leaf (undefined until a backward reaches it).
  Tensor grad() const;
  /// Replaces the accumulated gradient (pass an undefined Tensor to clear it).
  void set_grad(const Tensor& g) const;
  /// Reverse-mode pass from this tensor. A non-scalar needs `gradient` (same shape).
  /// Frees the graph it used unless retain_graph; create_graph records the pass itself.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false, bool create_graph = false) const;
  /// Makes backward also store this recorded result's gradient in its .grad() (as libtorch's
  /// retain_grad; a no-op on leaves). Used to inspect dLoss/dh_t of intermediate states.
  void retain_grad() const;
  /// Marks the data as modified after writing through data<T>() (bumps the version counter,
  /// so that a backward needing the old values throws instead of silently using the new ones).
  void bump_version() const;
  /// A tensor sharing this one's data that is not recorded and does not require grad.
  Tensor detach() const;
  /// A deep copy (recorded: gradients flow through it).
  Tensor clone() const;
  /// Converts to another dtype (differentiable between floating dtypes).
  Tensor to(Dtype d) const;
  /// Makes this leaf (and every handle to it) hold `new_data`'s storage, shape and dtype, as
  /// libtorch's set_data; its gradient is cleared when the shape or dtype changes.
  void set_data(const Tensor& new_data) const;
  /// Version counter of the storage (bumped by in-place ops).
  std::uint64_t version() const;

  // Common ops as methods; each forwards to the free function of the same name.
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor abs() const;
  Tensor neg() const;
  Tensor tanh() const;
  Tensor sigmoid() const;
  Tensor relu() const;
  Tensor pow(double exponent) const;
  Tensor sum() const;
  Tensor sum(std::int64_t dim, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(std::int64_t dim, bool keepdim = false) const;
  Tensor matmul(const Tensor& other) const;
  Tensor t() const;
  Tensor transpose(std::int64_t d0, std::int64_t d1) const;
  Tensor reshape(const Shape& shape) const;
  Tensor view(const Shape& shape) const;
  Tensor flatten(std::int64_t start_dim = 0, std::int64_t end_dim = -1) const;
  Tensor squeeze() const;
  Tensor squeeze(std::int64_t dim) const;
  Tensor unsqueeze(std::int64_t dim) const;
  Tensor expand(const Shape& shape) const;
  Tensor select(std::int64_t dim, std::int64_t index) const;
  Tensor clamp(double lo, double hi) const;

  // In-place ops (bump the version; refused on tensors the tape is tracking while grad mode is on).
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& add_(double value);
  Tensor& sub_(const Tensor& other, double alpha = 1.0);
  Tensor& sub_(double value);
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(double value);
  Tensor& div_(const Tensor& other);
  Tensor& div_(double value);
  Tensor& zero_();
  Tensor& fill_(double value);
  Tensor& copy_(const Tensor& src);

  /// The implementation (for ops and the tape).
  TensorImpl* impl() const { return impl_.get(); }
  const IntrusivePtr<TensorImpl>& impl_ptr() const { return impl_; }
  /// Throws ag::Error naming `op` when the tensor is undefined.
  const TensorImpl& checked(const char* op) const {
    if (!impl_) [[unlikely]]
      throw_undefined(op);
    return *impl_;
  }

 private:
  IntrusivePtr<TensorImpl> impl_;
};

inline const Shape& Tensor::shape() const { return checked("shape").shape; }
inline std::int64_t Tensor::numel() const { return checked("numel").numel; }
inline Dtype Tensor::dtype() const { return checked("dtype").dtype; }
inline void* Tensor::raw_data() const {
  const auto& im = checked("data");
  return static_cast<std::byte*>(im.storage->data) + im.offset * static_cast<std::int64_t>(itemsize(im.dtype));
}
template <class T>
inline T* Tensor::data() const {
  const auto& im = checked("data");
  if (im.dtype != dtype_of<T>()) [[unlikely]]
    throw_dtype_mismatch(im, dtype_of<T>());
  return im.data_unchecked<T>();
}

/// A new, empty TensorImpl from the pooled allocator (for ops and the tape).
IntrusivePtr<TensorImpl> new_impl();
/// Allocates an uninitialised contiguous tensor (no gradient, not recorded). An allocation that
/// cannot be satisfied, or whose size overflows, is an ag::Error naming `op`, the shape and the bytes.
Tensor empty(const Shape& shape, Dtype dtype = kFloat32, const char* op = "empty");
/// A tensor that shares `base`'s storage with a new shape of the same numel (not recorded).
Tensor alias_with_shape(const Tensor& base, const Shape& shape);

/// Prints values, then `[ CPUFloatType{2,3} ]`, as libtorch does.
std::ostream& operator<<(std::ostream& os, const Tensor& t);
/// "float32[2, 3]" for error messages.
std::string describe(const Tensor& t);

}  // namespace ag
