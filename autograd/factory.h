#pragma once
/// @file factory.h
/// Creating tensors: from values, filled, ranges, random (seeded), from a user's buffer.
///
/// Every factory takes libtorch's ag::TensorOptions last (a bare Dtype converts to it): its dtype when
/// set, else the factory's default; requires_grad(true) makes the new tensor a leaf that requires grad,
/// which only floating dtypes may ("Only Tensors of floating point dtype can require gradients").

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <vector>

#include "autograd/options.h"
#include "autograd/tensor.h"

namespace ag {

namespace detail {

/// The element types ag::tensor reads: the integer types (not bool: there is no bool dtype) and float, double.
template <class T>
concept TensorDataElement =
    (std::is_integral_v<T> && !std::is_same_v<T, bool>) || std::is_same_v<T, float> || std::is_same_v<T, double>;

/// What ag::tensor takes, as libtorch's torch::detail::TensorDataContainer: a number (a 0-d tensor), a
/// braced list of numbers, a braced list of braced lists of equal sizes (nested to any depth), or a
/// std::vector of numbers (1-d). Integer values make an int64 tensor and floating values a float32 one
/// (libtorch's default dtype) unless the options name a dtype; a list mixing both is floating (libtorch
/// refuses such a mix, Python's torch.tensor does not). It refers to the caller's values without copying,
/// so it is only a parameter type: do not keep one beyond the call.
class TensorDataContainer {
 public:
  /// `{}`: no values, a 1-d tensor of size 0 (floating, as libtorch's).
  TensorDataContainer() : kind_(Kind::List), floating_(true), sizes_{0} {}
  /// One number: a 0-d tensor.
  template <TensorDataElement T>
  TensorDataContainer(T value) noexcept  // NOLINT(google-explicit-constructor)
      : kind_(Kind::Scalar), elem_(elem_of<T>()), floating_(std::is_floating_point_v<T>) {
    static_assert(sizeof(T) <= sizeof(scalar_));
    std::memcpy(scalar_, &value, sizeof(T));
  }
  TensorDataContainer(bool) = delete;  // no bool dtype yet
  /// A braced list of numbers of one type (`{1.0, 2.0}`, `{1, 2, 3}`): 1-d.
  template <TensorDataElement T>
  TensorDataContainer(std::initializer_list<T> values)  // NOLINT(google-explicit-constructor)
      : kind_(Kind::Flat),
        elem_(elem_of<T>()),
        floating_(std::is_floating_point_v<T>),
        sizes_{static_cast<std::int64_t>(values.size())},
        data_(values.begin()) {}
  /// A braced list of numbers of mixed types, or of nested braced lists: sub-lists must have equal sizes.
  TensorDataContainer(std::initializer_list<TensorDataContainer> list);  // NOLINT(google-explicit-constructor)
  /// A vector of numbers: 1-d.
  template <TensorDataElement T>
  TensorDataContainer(const std::vector<T>& values)  // NOLINT(google-explicit-constructor)
      : kind_(Kind::Flat),
        elem_(elem_of<T>()),
        floating_(std::is_floating_point_v<T>),
        from_vector_(true),
        sizes_{static_cast<std::int64_t>(values.size())},
        data_(values.data()) {}

  /// The sizes the values have (empty for a number).
  const Shape& sizes() const { return sizes_; }
  std::int64_t numel() const { return shape_numel(sizes_); }
  /// True when some value is floating (the data then makes a float32 tensor by default).
  bool is_floating() const { return floating_; }
  /// True for a std::vector (ag::tensor(values, shape) keeps an integer vector int64 and makes a braced
  /// list float32, as it always did).
  bool is_vector() const { return from_vector_; }
  /// Writes the values, row-major and converted to `dtype`, at `out` (numel() elements); `shape` and `op` are
  /// for the error when a value does not fit in int64.
  void write(void* out, Dtype dtype, const Shape& shape, const char* op) const;

 private:
  enum class Kind : std::uint8_t { Scalar, List, Flat };
  enum class Elem : std::uint8_t { F32, F64, I8, I16, I32, I64, U8, U16, U32, U64 };
  template <class T>
  static constexpr Elem elem_of() {
    if constexpr (std::is_same_v<T, float>) return Elem::F32;
    else if constexpr (std::is_same_v<T, double>) return Elem::F64;
    else if constexpr (std::is_signed_v<T>)
      return sizeof(T) == 1 ? Elem::I8 : sizeof(T) == 2 ? Elem::I16 : sizeof(T) == 4 ? Elem::I32 : Elem::I64;
    else return sizeof(T) == 1 ? Elem::U8 : sizeof(T) == 2 ? Elem::U16 : sizeof(T) == 4 ? Elem::U32 : Elem::U64;
  }
  std::size_t write_at(void* out, Dtype dtype, std::size_t at, const Shape& shape, const char* op) const;

  Kind kind_;
  Elem elem_ = Elem::F64;
  bool floating_ = false;
  bool from_vector_ = false;
  Shape sizes_;
  alignas(8) unsigned char scalar_[8] = {};          // Kind::Scalar: the value, of type elem_
  const void* data_ = nullptr;                       // Kind::Flat: sizes_[0] values of type elem_
  std::initializer_list<TensorDataContainer> list_;  // Kind::List
};

}  // namespace detail

namespace detail {
Tensor tensor_with_options(TensorDataContainer values, const TensorOptions& options);
}  // namespace detail

/// A tensor from values, as libtorch's torch::tensor: `tensor({1.0, 2.0})` is float32 [2],
/// `tensor({1, 2, 3})` int64 [3], `tensor({{1.0, 2.0}, {3.0, 4.0}})` float32 [2, 2], `tensor(2.5)` 0-d;
/// the options' dtype, when set, converts the values (a value int64 cannot hold is an ag::Error).
Tensor tensor(detail::TensorDataContainer values);
/// (A template only so that `tensor(values, {})` still means the form below with an empty shape.)
template <class Options>
requires std::convertible_to<const Options&, TensorOptions> Tensor tensor(detail::TensorDataContainer values,
                                                                          const Options& options) {
  return detail::tensor_with_options(values, options);
}
/// The values (row-major) in `shape`; an empty shape means 1-d of all values. Without a dtype in the options a
/// braced list makes float32 (even of integers: `tensor({0, 1, 1, 0}, {4, 1})` is float32) and a vector
/// float32 or, of integers, int64 (`tensor(values, {})` is this form). A value count that does not match the
/// shape is an ag::Error.
Tensor tensor(detail::TensorDataContainer values, const Shape& shape, const TensorOptions& options = {});
/// A 0-d tensor holding one value (float32 unless the options say otherwise).
Tensor scalar_tensor(double value, const TensorOptions& options = {});
/// Copies `numel(shape)` elements of `dtype` from `data` (the caller keeps ownership).
Tensor from_buffer(const void* data, const Shape& shape, Dtype dtype);

/// Uninitialised; `empty(shape)` and `empty(shape, dtype)` are tensor.h's.
Tensor empty(const Shape& shape, const TensorOptions& options);
Tensor zeros(const Shape& shape, const TensorOptions& options = {});
Tensor ones(const Shape& shape, const TensorOptions& options = {});
/// Filled with `value` (float32 by default, also for an integral value: libtorch would make int64).
Tensor full(const Shape& shape, double value, const TensorOptions& options = {});
/// Shaped as `t`, of the options' dtype when set, else of t's (never recorded, never requiring grad
/// unless the options say so).
Tensor empty_like(const Tensor& t, const TensorOptions& options = {});
Tensor zeros_like(const Tensor& t, const TensorOptions& options = {});
Tensor ones_like(const Tensor& t, const TensorOptions& options = {});
Tensor full_like(const Tensor& t, double value, const TensorOptions& options = {});
Tensor rand_like(const Tensor& t, const TensorOptions& options = {});
Tensor randn_like(const Tensor& t, const TensorOptions& options = {});
Tensor randint_like(const Tensor& t, std::int64_t high, const TensorOptions& options = {});
Tensor randint_like(const Tensor& t, std::int64_t low, std::int64_t high, const TensorOptions& options = {});

/// [start, end) in steps of `step`, as numpy.arange (float32 by default, also for integral bounds:
/// libtorch would make int64).
Tensor arange(double end, const TensorOptions& options = {});
Tensor arange(double start, double end, const TensorOptions& options);
Tensor arange(double start, double end, double step = 1.0, const TensorOptions& options = {});
/// `steps` values evenly spaced from start to end inclusive, computed as PyTorch's CPU kernel does (the
/// first half from start, the second half back from end). steps == 1 gives start; a negative steps is an
/// ag::Error. An int64 dtype truncates start and end, then each value.
Tensor linspace(double start, double end, std::int64_t steps, const TensorOptions& options = {});
/// base ** linspace(start, end, steps), as PyTorch computes it (in double).
Tensor logspace(double start, double end, std::int64_t steps, double base = 10.0, const TensorOptions& options = {});
/// The identity [n, n], or [n, m] with ones on the main diagonal. A negative size is an ag::Error.
/// (Templates only so that a program's own `eye(std::int64_t)` next to `using namespace ag` is preferred
/// over them instead of being ambiguous.)
namespace detail {
Tensor eye_impl(std::int64_t n, std::int64_t m, const TensorOptions& options);
}  // namespace detail
template <class = void>
Tensor eye(std::int64_t n, const TensorOptions& options = {}) {
  return detail::eye_impl(n, n, options);
}
template <class = void>
Tensor eye(std::int64_t n, std::int64_t m, const TensorOptions& options = {}) {
  return detail::eye_impl(n, m, options);
}

/// 1-D forms taking one size, as libtorch's IntArrayRef accepts a single integer (`ag::randn(3)`).
template <std::integral I>
Tensor zeros(I n, const TensorOptions& options = {}) {
  return zeros(Shape{static_cast<std::int64_t>(n)}, options);
}
template <std::integral I>
Tensor ones(I n, const TensorOptions& options = {}) {
  return ones(Shape{static_cast<std::int64_t>(n)}, options);
}
template <std::integral I>
Tensor full(I n, double value, const TensorOptions& options = {}) {
  return full(Shape{static_cast<std::int64_t>(n)}, value, options);
}
template <std::integral I>
Tensor empty(I n, const TensorOptions& options = {}) {
  return empty(Shape{static_cast<std::int64_t>(n)}, options);
}
Tensor rand(const Shape& shape, const TensorOptions& options);
Tensor randn(const Shape& shape, const TensorOptions& options);
template <std::integral I>
Tensor rand(I n, const TensorOptions& options = {}) {
  return rand(Shape{static_cast<std::int64_t>(n)}, options);
}
template <std::integral I>
Tensor randn(I n, const TensorOptions& options = {}) {
  return randn(Shape{static_cast<std::int64_t>(n)}, options);
}

/// Seeds the global generator used by rand, randn, randint, randperm, multinomial, normal_, uniform_ and
/// dropout: same seed, same numbers.
void manual_seed(std::uint64_t seed);
/// Uniform on [0, 1).
Tensor rand(const Shape& shape, const TensorOptions& options = {});
/// Standard normal.
Tensor randn(const Shape& shape, const TensorOptions& options = {});
/// Uniform integers in [low, high) (int64 by default; as libtorch, options given without a dtype mean float32).
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, const TensorOptions& options = kInt64);
Tensor randint(std::int64_t high, const Shape& shape, const TensorOptions& options = kInt64);
/// A random permutation of 0 .. n-1 (int64 unless the options name a dtype; a negative n is an ag::Error).
Tensor randperm(std::int64_t n, const TensorOptions& options = kInt64);
/// Indices of categories drawn from the rows of `probs` (1-d [categories] or 2-d [rows, categories]
/// non-negative finite weights with a positive sum per row): int64 [num_samples] or [rows, num_samples].
/// Without replacement a category is drawn at most once, so num_samples may not exceed the categories
/// with a non-zero weight. Not recorded.
Tensor multinomial(const Tensor& probs, std::int64_t num_samples, bool replacement = false);

namespace detail {
Tensor normal_impl(const Tensor& t, double mean, double std);
Tensor uniform_impl(const Tensor& t, double from, double to);
}  // namespace detail

/// Fills a floating tensor in place with N(mean, std) / U[from, to) values from the global generator and
/// returns it (as libtorch's Tensor::normal_ / uniform_; in place, so refused while grad mode is on for a
/// leaf that requires grad or a recorded result: use ag::NoGradGuard, or nn::init's, which does).
/// (Templates only so that nn::init's normal_/uniform_, found with these by argument-dependent lookup,
/// are preferred over them instead of being ambiguous.)
template <class T>
requires std::same_as<std::remove_cvref_t<T>, Tensor> Tensor normal_(T&& t, double mean = 0.0, double std = 1.0) {
  return detail::normal_impl(t, mean, std);
}
template <class T>
requires std::same_as<std::remove_cvref_t<T>, Tensor> Tensor uniform_(T&& t, double from = 0.0, double to = 1.0) {
  return detail::uniform_impl(t, from, to);
}

/// Uniform on [lo, hi) / normal(mean, std) as doubles from the global generator.
double random_uniform(double lo = 0.0, double hi = 1.0);
double random_normal(double mean = 0.0, double std = 1.0);
/// The global generator's state as opaque bytes; set_rng_state(s) makes it draw the same numbers
/// again (ag::checkpoint replays dropout masks so). Bytes of another size are an ag::Error.
std::string rng_state();
void set_rng_state(const std::string& state);

}  // namespace ag
