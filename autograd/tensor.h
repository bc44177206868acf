#pragma once
/// @file tensor.h
/// ag::Tensor: a dense, contiguous, row-major tensor handle with shared storage.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <tuple>
#include <vector>

#include "autograd/device.h"
#include "autograd/dtype.h"
#include "autograd/intrusive_ptr.h"
#include "autograd/scalar.h"
#include "autograd/shape.h"

namespace ag {

class Tape;
struct TensorImpl;
namespace autograd {
class Node;
}
namespace detail {
struct LeafHooks;
}
namespace indexing {
class TensorIndex;
}

[[noreturn]] void throw_undefined(const char* op);
[[noreturn]] void throw_dtype_mismatch(const TensorImpl& impl, Dtype requested);
[[noreturn]] void throw_not_contiguous(const TensorImpl& impl, const char* op);
/// Tensor::dense for a non-contiguous view: its cached contiguous copy (see Note: views).
const TensorImpl* dense_slow(const TensorImpl& impl);

/// A reference-counted buffer. Its version counter is bumped by every in-place op so that
/// backward can tell when a tensor it saved has been modified. Buffers of up to kInlineBytes live
/// inside the Storage itself (one allocation per small tensor); `data` then points at `small`.
struct Storage : RefCounted {
  static constexpr std::size_t kInlineBytes = 32;
  // inline: every new tensor makes one (the 0-d chain: one call fewer per tensor made and freed)
  explicit Storage(std::size_t n) : data(n <= kInlineBytes ? small : pool_allocate(n)), nbytes(n) {}
  ~Storage() {
    if (data != small) pool_free(data, nbytes);
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data = nullptr;
  std::size_t nbytes = 0;
  std::uint64_t version = 0;
  alignas(16) std::byte small[kInlineBytes];
};

struct TensorImpl;

// Note: views
// ===========
// A tensor is (storage, offset, sizes, strides), as in libtorch. View ops (transpose, permute, select,
// slice, narrow, expand, diagonal, unfold, as_strided, view, squeeze, unsqueeze, and reshape when the
// strides allow) return a TensorImpl sharing the storage; the version counter lives in the Storage,
// so base and views share it and a saved tensor changed through any alias is caught in backward.
//
// Row-major strides are the common case and cost nothing: a TensorImpl whose strides are the
// row-major ones of its shape has no ViewMeta (`view` is null; offset may be non-zero). Only a
// non-contiguous view carries one, with its strides.
//
// Reading. Kernels read contiguous buffers. An op reads an input through Tensor::dense() /
// cdata<T>(), which for a non-contiguous view returns its values laid out contiguously: a copy made
// on first read and kept in the ViewMeta while the storage version is unchanged (a write through
// any alias bumps the version, and the next read copies again). matmul reads a transposed 2-D view
// as a GEMM transpose flag instead (no copy). Tensor::data<T>() throws on a non-contiguous tensor
// (writing through it would miss the base); data_ptr<T>() is libtorch's raw first-element pointer.
//
// Writing. In-place ops (add_, fill_, copy_, ...) write through the strides into the shared storage,
// so `m.select(0, 1).fill_(5)` changes m. A view whose elements overlap (stride 0 from expand) is
// refused, as libtorch does. Autograd: a view op is recorded like any op (its VJP maps the gradient
// back to the base's shape); in-place ops stay refused, while grad mode is on, on tensors the tape
// tracks, and also on a view made under NoGradGuard of a tensor that requires grad
// (TensorImpl::grad_base_view), so a write can never bypass a recorded graph.

/// Layout of a non-contiguous view (see Note: views).
struct ViewMeta {
  Shape strides;  ///< in elements, one per dim
  /// The values laid out contiguously, for ops that read the view; valid while the storage's
  /// version equals dense_version. Guarded by `mutex` (only ever taken for non-contiguous reads).
  std::mutex mutex;
  IntrusivePtr<TensorImpl> dense;
  std::uint64_t dense_version = 0;
};

/// What a Tensor handle points to. Users do not touch it; ops and the tape do.
struct TensorImpl : RefCounted {
  // (The small fields are grouped at the end so that the object stays in the allocator's 192-byte
  // size class: 200 bytes, with them spread out, measured 5-8% slower on the small-op workloads.)
  IntrusivePtr<Storage> storage;
  std::int64_t offset = 0;  ///< in elements
  Shape shape;
  std::unique_ptr<ViewMeta> view;  ///< null when the strides are row-major (see Note: views)
  std::int64_t numel = 1;
  IntrusivePtr<TensorImpl> grad;
  // Tape bookkeeping for recorded (non-leaf) results.
  Tape* tape = nullptr;
  std::uint64_t generation = 0;
  std::int64_t slot = -1;
  const char* op = nullptr;  ///< for a recorded result: the name of the op that made it (error messages)
  /// A leaf's hooks (register_hook, register_post_accumulate_grad_hook), else null. A recorded
  /// result's hooks are kept by its tape (they belong to the graph, as libtorch's grad_fn pre-hooks).
  detail::LeafHooks* hooks = nullptr;
  // Borrowing (Note: lifetimes in tape.h): a SavedTensor of a result holds no reference to it, so
  // that saving costs no TensorImpl copy and the tape's live count still sees only the user's
  // handles. saved_refs and adopted keep a borrowed result alive after its last handle; owner thread only.
  std::uint32_t saved_refs = 0;  ///< SavedTensors borrowing it: while nonzero, its last handle adopts it
  Dtype dtype = Dtype::Float32;
  bool requires_grad = false;   ///< true for leaves that want .grad(), and for every recorded result
  bool in_live_count = false;   ///< counted in its tape's live results: its release may rewind the tape
  bool retains_grad = false;    ///< the tape's retain list points to it (retain_grad)
  bool grad_base_view = false;  ///< a view made under NoGradGuard of a tensor that requires grad
  bool adopted = false;         ///< no handle is left: kept (one reference) for the SavedTensors borrowing it
  bool has_tangent = false;     ///< a forward-AD tangent is kept for it (forward_grad.h); erased with it
  bool is_contiguous() const { return !view; }
  /// Strides in elements (row-major ones unless this is a non-contiguous view).
  Shape strides() const;
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
  /// (Inline: the common case, nothing borrows it, is one test before the destructor.)
  static bool adopt_at_zero(TensorImpl* t) noexcept { return t->saved_refs != 0 && adopt_borrowed(t); }
  /// adopt_at_zero when SavedTensors borrow it.
  static bool adopt_borrowed(TensorImpl* t) noexcept;
  /// A borrowing SavedTensor goes: the last of them frees an adopted result.
  void drop_saved() noexcept {
    if (--saved_refs == 0 && adopted) {
      adopted = false;
      unref();
    }
  }
};

/// A handle to a tensor. Copying a Tensor shares its data (as in libtorch); `clone()` copies it.
/// View ops (transpose, permute, select, slice, narrow, expand, diagonal, unfold, as_strided, view,
/// squeeze, unsqueeze, detach; reshape when it can) share storage with their input, as libtorch's
/// do; in-place ops on a view write into its base (see Note: views in tensor.h).
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

  /// Typed pointer to the first element; T must match dtype() exactly. Throws ag::Error for a
  /// non-contiguous view (its elements are not at data<T>()[i]; see data_ptr and contiguous()).
  template <class T>
  T* data() const;
  /// Untyped pointer to the first element (contiguous tensors only, as data<T>()).
  void* raw_data() const;
  /// libtorch's data_ptr<T>(): the first element in storage, for any layout; element (i, j, ...)
  /// is at data_ptr<T>()[i * stride(0) + j * stride(1) + ...].
  template <class T>
  T* data_ptr() const;
  /// The values in row-major order for reading, whatever the layout: data<T>() for a contiguous
  /// tensor, else a contiguous copy cached in the view (see Note: views). Write through it only into
  /// a tensor just made by empty() (an op's output): a write into a view's copy would not reach it.
  template <class T>
  T* cdata() const;
  /// The implementation whose buffer holds the values in row-major order (this one, or for a
  /// non-contiguous view its cached contiguous copy); throws naming `op` when undefined.
  const TensorImpl& dense(const char* op) const;

  /// Strides in elements, as libtorch's strides().
  Shape strides() const { return checked("strides").strides(); }
  std::int64_t stride(std::int64_t dim) const;
  bool is_contiguous() const { return checked("is_contiguous").is_contiguous(); }
  /// This tensor when its strides are row-major, else a contiguous copy (recorded: gradients flow).
  Tensor contiguous() const;
  /// Offset of the first element in the storage, in elements.
  std::int64_t storage_offset() const { return checked("storage_offset").offset; }
  /// The single value of a one-element tensor, converted to T: float, double, int64_t, int or bool (any
  /// other T does not compile). To an integer, a floating value is truncated and must fit; to bool,
  /// nonzero is true.
  template <ScalarConvertible T>
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
  /// The node that computed this recorded result, as libtorch's grad_fn(); null for a leaf or a
  /// constant. The handle never dangles (graph.h): name() always works, next_edges() throws
  /// ag::Error once the graph was freed.
  std::shared_ptr<autograd::Node> grad_fn() const;
  /// Registers `hook(grad)`, run when this tensor's gradient has been computed by backward() or
  /// ag::grad(), before it is accumulated into .grad() or passed on, as libtorch's register_hook.
  /// The hook returns void, or a Tensor replacing the gradient (undefined: unchanged). Hooks run
  /// in registration order, each on the previous one's result. On a leaf the hook runs once per
  /// pass with the gradient summed over every use of the leaf; on a recorded result when its op's
  /// backward is about to run (with create_graph, the hook's ops are recorded too). Under
  /// ag::grad, hooks of the requested inputs run before their gradients are returned (PyTorch >= 2.0;
  /// 1.13 skips them). Returns the handle for remove_hook. Throws ag::Error on a tensor that does not
  /// require grad, or a result whose graph was freed.
  template <class F>
  unsigned register_hook(F&& hook) const;
  /// Removes the hook `h` returned by register_hook (ag::Error if there is none at that index).
  /// A no-op for a result whose graph was freed (its hooks went with it).
  void remove_hook(unsigned h) const;
  /// Registers `hook(tensor)`, called on a leaf after backward() updated its .grad() (not by
  /// ag::grad), as PyTorch's register_post_accumulate_grad_hook (PyTorch >= 2.1). Leaves only.
  template <class F>
  unsigned register_post_accumulate_grad_hook(F&& hook) const;
  /// Removes a hook registered by register_post_accumulate_grad_hook.
  void remove_post_accumulate_grad_hook(unsigned h) const;
  unsigned add_grad_hook(std::function<Tensor(const Tensor&)> hook) const;                ///< register_hook's body
  unsigned add_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook) const;  ///< the same
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
  // Views (share storage; see Note: views).
  Tensor slice(std::int64_t dim = 0, std::int64_t start = 0, std::int64_t end = INT64_MAX, std::int64_t step = 1) const;
  Tensor narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const;
  Tensor permute(const Shape& dims) const;
  Tensor expand_as(const Tensor& other) const;
  Tensor diagonal(std::int64_t offset = 0, std::int64_t dim1 = 0, std::int64_t dim2 = 1) const;
  Tensor unfold(std::int64_t dim, std::int64_t size, std::int64_t step) const;
  Tensor as_strided(const Shape& size, const Shape& stride) const;
  Tensor as_strided(const Shape& size, const Shape& stride, std::int64_t storage_offset) const;
  /// select(0, i), as libtorch's operator[].
  Tensor operator[](std::int64_t i) const;
  // Indexing, as libtorch's (ops/indexing.h; include it, or autograd/autograd.h, to call these).
  /// `t.index({Slice(), 1, None, Ellipsis, idx})`: integers, slices, None, Ellipsis and bools give a
  /// view; tensor indices (int64, or a floating 0/1 mask) gather a copy. Recorded (differentiable).
  Tensor index(std::initializer_list<indexing::TensorIndex> indices) const;
  /// The same with the indices in a vector.
  Tensor index(const std::vector<indexing::TensorIndex>& indices) const;
  /// Writes `value` (broadcast) into `index(indices)`: through the view for basic indices (copy_),
  /// else scattered; with repeated tensor indices the last write wins (libtorch's CPU behaviour in
  /// practice; accumulate=false). Refused as the other in-place ops on tensors the tape tracks while
  /// grad mode is on; see ag::index_put for the recorded, out-of-place form.
  Tensor& index_put_(std::initializer_list<indexing::TensorIndex> indices, const Tensor& value);
  /// The same with the indices in a vector.
  Tensor& index_put_(const std::vector<indexing::TensorIndex>& indices, const Tensor& value);
  /// index_put_ of a number (fill_ through the view for basic indices).
  Tensor& index_put_(std::initializer_list<indexing::TensorIndex> indices, double value);
  /// The same with the indices in a vector.
  Tensor& index_put_(const std::vector<indexing::TensorIndex>& indices, double value);
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

  // libtorch method surface (each forwards to the free function of the same name)
  /// The single value of a one-element tensor as a Scalar: a double for a floating tensor, an int64 for
  /// an int64 one (as libtorch's item()).
  Scalar item() const;
  /// In place, as libtorch's: add_, sub_, mul_, div_ (with their errors: refused on a leaf that requires
  /// grad or a recorded result while grad mode is on).
  Tensor& operator+=(const Tensor& other) { return add_(other); }
  Tensor& operator+=(double other) { return add_(other); }
  Tensor& operator-=(const Tensor& other) { return sub_(other); }
  Tensor& operator-=(double other) { return sub_(other); }
  Tensor& operator*=(const Tensor& other) { return mul_(other); }
  Tensor& operator*=(double other) { return mul_(other); }
  Tensor& operator/=(const Tensor& other) { return div_(other); }
  Tensor& operator/=(double other) { return div_(other); }
  /// this + alpha other (alpha != 1 multiplies other first).
  Tensor add(const Tensor& other, double alpha = 1.0) const;
  Tensor add(double other, double alpha = 1.0) const;
  /// this - alpha other.
  Tensor sub(const Tensor& other, double alpha = 1.0) const;
  Tensor sub(double other, double alpha = 1.0) const;
  Tensor mul(const Tensor& other) const;
  Tensor mul(double other) const;
  Tensor div(const Tensor& other) const;
  Tensor div(double other) const;
  Tensor square() const;
  Tensor mm(const Tensor& mat2) const;
  Tensor bmm(const Tensor& mat2) const;
  /// beta this + alpha (mat1 @ mat2).
  Tensor addmm(const Tensor& mat1, const Tensor& mat2, double beta = 1.0, double alpha = 1.0) const;
  Tensor dot(const Tensor& other) const;
  Tensor outer(const Tensor& vec2) const;
  /// Max of all elements (0-d).
  Tensor max() const;
  /// (values, indices) of the max over `dim`, as libtorch's tuple.
  std::tuple<Tensor, Tensor> max(std::int64_t dim, bool keepdim = false) const;
  /// Elementwise max with `other` (ag::maximum), as libtorch's max(Tensor).
  Tensor max(const Tensor& other) const;
  Tensor min() const;
  std::tuple<Tensor, Tensor> min(std::int64_t dim, bool keepdim = false) const;
  Tensor min(const Tensor& other) const;
  Tensor amax(std::int64_t dim, bool keepdim = false) const;
  Tensor amin(std::int64_t dim, bool keepdim = false) const;
  /// Index of the max over `dim`, or of the flattened tensor without one (keepdim then keeps every dim
  /// with size 1).
  Tensor argmax(std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false) const;
  Tensor argmin(std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false) const;
  Tensor softmax(std::int64_t dim) const;
  Tensor log_softmax(std::int64_t dim) const;
  Tensor logsumexp(std::int64_t dim, bool keepdim = false) const;
  /// p-norm of all elements.
  Tensor norm(double p = 2.0) const;
  Tensor norm(double p, std::int64_t dim, bool keepdim = false) const;
  Tensor norm(double p, const std::vector<std::int64_t>& dims, bool keepdim = false) const;
  /// sum / mean over several dims (`x.sum({0, 1})`; `x.sum({1})` is the one-dim overload).
  Tensor sum(const std::vector<std::int64_t>& dims, bool keepdim = false) const;
  Tensor mean(const std::vector<std::int64_t>& dims, bool keepdim = false) const;
  Tensor prod() const;
  Tensor prod(std::int64_t dim, bool keepdim = false) const;
  /// 1 or 0 in this tensor's dtype (there is no bool dtype; see ag::all).
  Tensor all() const;
  Tensor all(std::int64_t dim, bool keepdim = false) const;
  Tensor any() const;
  Tensor any(std::int64_t dim, bool keepdim = false) const;
  /// Variance of all elements; only a bool selects this overload (`x.var(1)` is over dim 1).
  template <std::same_as<bool> B = bool>
  Tensor var(B unbiased = true) const;
  Tensor var(std::int64_t dim, bool unbiased = true, bool keepdim = false) const;
  Tensor var(std::optional<std::int64_t> dim, std::optional<double> correction, bool keepdim = false) const;
  /// A floating correction must be passed as a std::optional (see ag::var).
  template <std::floating_point F>
  Tensor var(std::int64_t dim, F correction, bool keepdim = false) const = delete;
  template <std::same_as<bool> B = bool>
  Tensor std(B unbiased = true) const;
  Tensor std(std::int64_t dim, bool unbiased = true, bool keepdim = false) const;
  Tensor std(std::optional<std::int64_t> dim, std::optional<double> correction, bool keepdim = false) const;
  template <std::floating_point F>
  Tensor std(std::int64_t dim, F correction, bool keepdim = false) const = delete;
  Tensor cumsum(std::int64_t dim) const;
  Tensor cumprod(std::int64_t dim) const;
  std::tuple<Tensor, Tensor> sort(std::int64_t dim = -1, bool descending = false) const;
  Tensor argsort(std::int64_t dim = -1, bool descending = false) const;
  std::tuple<Tensor, Tensor> topk(std::int64_t k, std::int64_t dim = -1, bool largest = true, bool sorted = true) const;
  /// Comparisons: 1 where true, 0 where false, in the inputs' dtype (there is no bool dtype).
  Tensor eq(const Tensor& other) const;
  Tensor eq(double other) const;
  Tensor ne(const Tensor& other) const;
  Tensor ne(double other) const;
  Tensor lt(const Tensor& other) const;
  Tensor lt(double other) const;
  Tensor le(const Tensor& other) const;
  Tensor le(double other) const;
  Tensor gt(const Tensor& other) const;
  Tensor gt(double other) const;
  Tensor ge(const Tensor& other) const;
  Tensor ge(double other) const;
  Tensor masked_fill(const Tensor& mask, double value) const;
  Tensor masked_fill(const Tensor& mask, const Tensor& value) const;
  /// this where condition is nonzero, else other (as libtorch's self.where(condition, other)).
  Tensor where(const Tensor& condition, const Tensor& other) const;
  Tensor where(const Tensor& condition, double other) const;
  Tensor clamp_min(double min) const;
  Tensor clamp_max(double max) const;
  Tensor sin() const;
  Tensor cos() const;
  Tensor tan() const;
  Tensor asin() const;
  Tensor acos() const;
  Tensor atan() const;
  Tensor atan2(const Tensor& other) const;
  Tensor sinh() const;
  Tensor cosh() const;
  Tensor erf() const;
  Tensor log1p() const;
  Tensor expm1() const;
  Tensor log2() const;
  Tensor log10() const;
  Tensor rsqrt() const;
  Tensor reciprocal() const;
  Tensor sign() const;
  Tensor floor() const;
  Tensor ceil() const;
  Tensor round() const;
  Tensor round(std::int64_t decimals) const;
  Tensor trunc() const;
  Tensor frac() const;
  Tensor fmod(const Tensor& other) const;
  Tensor fmod(double other) const;
  Tensor remainder(const Tensor& other) const;
  Tensor remainder(double other) const;
  Tensor minimum(const Tensor& other) const;
  Tensor maximum(const Tensor& other) const;
  Tensor lerp(const Tensor& end, const Tensor& weight) const;
  Tensor lerp(const Tensor& end, double weight) const;
  Tensor addcmul(const Tensor& tensor1, const Tensor& tensor2, double value = 1.0) const;
  Tensor addcdiv(const Tensor& tensor1, const Tensor& tensor2, double value = 1.0) const;
  Tensor index_select(std::int64_t dim, const Tensor& index) const;
  Tensor gather(std::int64_t dim, const Tensor& index) const;
  /// to(other.dtype()).
  Tensor type_as(const Tensor& other) const;
  /// dim(), is_floating_point(dtype()), itemsize(dtype()).
  std::int64_t ndimension() const { return dim(); }
  bool is_floating_point() const { return is_floating(dtype()); }
  std::int64_t element_size() const { return static_cast<std::int64_t>(itemsize(dtype())); }
  /// Always the CPU (autograd/device.h).
  Device device() const;
  bool is_cuda() const { return false; }
  bool is_cpu() const { return true; }
  /// This tensor for the CPU (libtorch returns self when nothing changes); a CUDA device is an ag::Error.
  Tensor to(Device device) const;
  Tensor to(Device device, Dtype dtype) const;
  /// to(kCPU): this tensor.
  Tensor cpu() const;
  /// to(kCUDA): always an ag::Error (this build has no CUDA).
  Tensor cuda() const;

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
  if (im.view) [[unlikely]]
    throw_not_contiguous(im, "raw_data");
  return static_cast<std::byte*>(im.storage->data) + im.offset * static_cast<std::int64_t>(itemsize(im.dtype));
}
template <class T>
inline T* Tensor::data() const {
  const auto& im = checked("data");
  if (im.dtype != dtype_of<T>()) [[unlikely]]
    throw_dtype_mismatch(im, dtype_of<T>());
  if (im.view) [[unlikely]]
    throw_not_contiguous(im, "data");
  return im.data_unchecked<T>();
}
template <class T>
inline T* Tensor::data_ptr() const {
  const auto& im = checked("data_ptr");
  if (im.dtype != dtype_of<T>()) [[unlikely]]
    throw_dtype_mismatch(im, dtype_of<T>());
  return im.data_unchecked<T>();
}
inline const TensorImpl& Tensor::dense(const char* op) const {
  const auto& im = checked(op);
  if (!im.view) [[likely]]
    return im;
  return *dense_slow(im);
}
template <class T>
inline T* Tensor::cdata() const {
  const auto& im = dense("data");
  if (im.dtype != dtype_of<T>()) [[unlikely]]
    throw_dtype_mismatch(im, dtype_of<T>());
  return im.data_unchecked<T>();
}

extern template Tensor Tensor::var<bool>(bool) const;
extern template Tensor Tensor::std<bool>(bool) const;

/// A new, empty TensorImpl from the pooled allocator (for ops and the tape).
IntrusivePtr<TensorImpl> new_impl();
/// Allocates an uninitialised contiguous tensor (no gradient, not recorded). An allocation that
/// cannot be satisfied, or whose size overflows, is an ag::Error naming `op`, the shape and the bytes.
Tensor empty(const Shape& shape, Dtype dtype = kFloat32, const char* op = "empty");
/// A tensor that shares `base`'s storage with a new shape of the same numel (not recorded);
/// `base` must be contiguous.
Tensor alias_with_shape(const Tensor& base, const Shape& shape);
/// A view of `base`'s storage with the given sizes, strides and storage offset (not recorded; for
/// view ops). Carries a ViewMeta only when the strides are not row-major for `sizes`.
Tensor make_view(const Tensor& base, const Shape& sizes, const Shape& strides, std::int64_t offset);

/// Prints values, then `[ CPUFloatType{2,3} ]`, as libtorch does.
std::ostream& operator<<(std::ostream& os, const Tensor& t);
/// "float32[2, 3]" for error messages.
std::string describe(const Tensor& t);

}  // namespace ag

// After Tensor: graph.h (the grad_fn() handle, the hook templates) is built on it.
#include "autograd/graph.h"  // IWYU pragma: export
