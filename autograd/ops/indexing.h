#pragma once
/// @file ops/indexing.h
/// libtorch's tensor indexing API (https://pytorch.org/cppdocs/notes/tensor_indexing.html):
/// `t.index({Slice(), 1, None, Ellipsis, idx})` and `t.index_put_({...}, value)`, with
/// `ag::indexing::{Slice, None, Ellipsis, TensorIndex}`, and the out-of-place `index_put`.
///
/// Basic indices (integers, slices, None, Ellipsis, bool) give a view sharing the input's storage
/// (see Note: views in tensor.h), made of select / slice / unsqueeze and recorded through them.
/// Tensor indices (int64) do advanced indexing, which copies; a floating tensor (0/1 values) is a
/// mask and indexes like its nonzero() positions (see detail::is_mask_index). Several tensor
/// indices broadcast together; their result dims replace the indexed dims in place when the tensor
/// indices are adjacent, else they come first (numpy's and libtorch's rule, applied after the
/// integers have removed their dims, as libtorch's applySlicing does).

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <type_traits>
#include <vector>

#include "autograd/tensor.h"

namespace ag {

namespace indexing {

/// libtorch's `None`: as an index it inserts a dim of size 1; in a Slice it means "the default".
inline constexpr std::nullopt_t None = std::nullopt;

/// The type of `Ellipsis`.
struct EllipsisIndexType final {
  EllipsisIndexType() = default;
};
/// libtorch's `Ellipsis` (Python's `...`): as many full slices as the dims left unindexed.
inline constexpr EllipsisIndexType Ellipsis{};

/// Python's `start:stop:step`; each part may be None for its default (0, the size, 1). Negative
/// start and stop count from the end, out-of-range ones are clamped; step must be positive.
class Slice final {
 public:
  /// `Slice()` is `:`, `Slice(1, None)` is `1:`, `Slice(None, -1, 2)` is `:-1:2`.
  Slice(std::optional<std::int64_t> start = std::nullopt, std::optional<std::int64_t> stop = std::nullopt,
        std::optional<std::int64_t> step = std::nullopt)
      : start_(start.value_or(0)), stop_(stop.value_or(INT64_MAX)), step_(step.value_or(1)) {}
  std::int64_t start() const { return start_; }
  std::int64_t stop() const { return stop_; }
  std::int64_t step() const { return step_; }

 private:
  std::int64_t start_, stop_, step_;
};

/// The kinds of TensorIndex, as libtorch's TensorIndexType.
enum class TensorIndexType { None, Ellipsis, Integer, Boolean, Slice, Tensor };

/// One entry of an index list: an integer, a Slice, None, Ellipsis (or "..."), a bool, or a
/// Tensor (int64 indices, or a floating 0/1 mask).
class TensorIndex final {
 public:
  /// None: a new dim of size 1.
  TensorIndex(std::nullopt_t) : type_(TensorIndexType::None) {}  // NOLINT: implicit, as libtorch's
  /// Ellipsis: full slices of the dims no other index takes.
  TensorIndex(EllipsisIndexType) : type_(TensorIndexType::Ellipsis) {}  // NOLINT
  /// "..." (the only string accepted): Ellipsis.
  TensorIndex(const char* str);  // NOLINT
  /// An integer: selects one element of the dim, which is removed (negative counts from the end).
  TensorIndex(std::int64_t integer) : integer_(integer), type_(TensorIndexType::Integer) {}  // NOLINT
  /// An integer: selects one element of the dim, which is removed (negative counts from the end).
  TensorIndex(int integer) : TensorIndex(static_cast<std::int64_t>(integer)) {}  // NOLINT
  /// true: a new dim of size 1 (as None); false: a new dim of size 0.
  template <class T, std::enable_if_t<std::is_same_v<T, bool>, int> = 0>
  TensorIndex(T boolean) : boolean_(boolean), type_(TensorIndexType::Boolean) {}  // NOLINT
  /// A Slice: a strided range of the dim.
  TensorIndex(Slice slice) : slice_(slice), type_(TensorIndexType::Slice) {}  // NOLINT
  /// A Tensor: int64 indices into the dim (advanced indexing), or a floating 0/1 mask over as many
  /// dims as it has (a 0-d int64 tensor selects, as an integer).
  TensorIndex(Tensor tensor) : tensor_(std::move(tensor)), type_(TensorIndexType::Tensor) {}  // NOLINT

  TensorIndexType type() const { return type_; }
  bool is_none() const { return type_ == TensorIndexType::None; }
  bool is_ellipsis() const { return type_ == TensorIndexType::Ellipsis; }
  bool is_integer() const { return type_ == TensorIndexType::Integer; }
  bool is_boolean() const { return type_ == TensorIndexType::Boolean; }
  bool is_slice() const { return type_ == TensorIndexType::Slice; }
  bool is_tensor() const { return type_ == TensorIndexType::Tensor; }
  std::int64_t integer() const { return integer_; }
  bool boolean() const { return boolean_; }
  const Slice& slice() const { return slice_; }
  const Tensor& tensor() const { return tensor_; }

 private:
  std::int64_t integer_ = 0;
  bool boolean_ = false;
  Slice slice_;
  Tensor tensor_;
  TensorIndexType type_;
};

}  // namespace indexing

/// `self.index(indices)` as a free function (see Tensor::index).
Tensor index(const Tensor& self, const std::vector<indexing::TensorIndex>& indices);

/// A copy of `self` with `self.index(indices)` replaced by `values` (broadcast to the indexed
/// shape after dropping its leading size-1 dims, as Tensor::index_put_ does), recorded: grad_self = g with the indexed
/// elements zeroed, grad_values = g.index(indices) summed back to values' shape. Repeated tensor indices: the last
/// write wins in the forward (as libtorch's CPU kernel in practice), while every repeat receives the gradient (as
/// libtorch).
Tensor index_put(const Tensor& self, const std::vector<indexing::TensorIndex>& indices, const Tensor& values);

namespace detail {

/// True when a tensor of shape `from` broadcasts to exactly `to`.
bool broadcasts_to(const Shape& from, const Shape& to);

/// The one place that decides which tensors are masks, for index() and the masked_* ops: bool
/// tensors, and floating ones (comparisons return 0/1 in the input's dtype).
bool is_mask_index(const Tensor& t);
/// A mask's values as 0/1 bytes in row-major order: a bool tensor, or a floating, int64 or int32 one holding only 0 and
/// 1 (anything else is an ag::Error naming `op`).
std::vector<std::uint8_t> mask_values(const Tensor& mask, const char* op);

}  // namespace detail

}  // namespace ag
