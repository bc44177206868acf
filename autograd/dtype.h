#pragma once
/// @file dtype.h
/// Runtime element types and the dispatch helpers that turn them into C++ types.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "autograd/error.h"

namespace ag {

/// Element type of a tensor, chosen at run time. Int32 and Bool are storage dtypes: they can be created
/// (factories, tensor(), to()), printed, read (item, to_vector, data<T>) and saved; every other op refuses
/// them with an ag::Error naming the op and the dtype (convert with to(kInt64) or to(kFloat32) first).
enum class Dtype : std::uint8_t { Float32, Float64, Int64, Int32, Bool };

inline constexpr Dtype kFloat32 = Dtype::Float32;  ///< 32-bit float (libtorch's default).
inline constexpr Dtype kFloat64 = Dtype::Float64;  ///< 64-bit float (use it for gradcheck).
inline constexpr Dtype kInt64 = Dtype::Int64;      ///< indices and class labels, never differentiable.
inline constexpr Dtype kFloat = kFloat32;
inline constexpr Dtype kDouble = kFloat64;
inline constexpr Dtype kLong = kInt64;
inline constexpr Dtype kInt32 = Dtype::Int32;  ///< storage only (see Dtype)
inline constexpr Dtype kInt = kInt32;
inline constexpr Dtype kBool = Dtype::Bool;  ///< storage only, one byte per element holding 0 or 1

/// Bytes per element.
constexpr std::size_t itemsize(Dtype d) {
  return d == Dtype::Bool ? 1 : (d == Dtype::Float32 || d == Dtype::Int32) ? 4 : 8;
}
/// "float32", "float64", "int64", "int32" or "bool".
std::string_view dtype_name(Dtype d);
/// True for the floating dtypes (the ones that can require a gradient).
constexpr bool is_floating(Dtype d) { return d == Dtype::Float32 || d == Dtype::Float64; }

template <class T>
constexpr Dtype dtype_of();
template <>
constexpr Dtype dtype_of<float>() {
  return Dtype::Float32;
}
template <>
constexpr Dtype dtype_of<double>() {
  return Dtype::Float64;
}
template <>
constexpr Dtype dtype_of<std::int64_t>() {
  return Dtype::Int64;
}
template <>
constexpr Dtype dtype_of<std::int32_t>() {
  return Dtype::Int32;
}
template <>
constexpr Dtype dtype_of<bool>() {
  return Dtype::Bool;
}

/// The error for an op that does not take the storage-only dtypes (int32, bool); `op` may be null.
[[noreturn]] inline void fail_storage_dtype(const char* op, Dtype d) {
  fail(
      "{}{}{} tensors are not supported by this op (int32 and bool tensors can only be created, converted with "
      "to(), printed, read and saved; convert with to(kInt64) or to(kFloat32) first)",
      op ? op : "", op ? ": " : "", dtype_name(d));
}

/// Calls `f.template operator()<T>()` with T = float or double; int64 is an error naming `op`.
template <class F>
decltype(auto) dispatch_floating(Dtype d, const char* op, F&& f) {
  switch (d) {
    case Dtype::Float32:
      return f.template operator()<float>();
    case Dtype::Float64:
      return f.template operator()<double>();
    default:
      fail("{}: expected a floating dtype (float32 or float64), got {}", op, dtype_name(d));
  }
}

/// Calls `f.template operator()<T>()` with T = float, double or int64_t; int32 and bool are an error
/// naming `op` (fail_storage_dtype; null: no name).
template <class F>
decltype(auto) dispatch_all(Dtype d, const char* op, F&& f) {
  switch (d) {
    case Dtype::Float32:
      return f.template operator()<float>();
    case Dtype::Float64:
      return f.template operator()<double>();
    case Dtype::Int64:
      return f.template operator()<std::int64_t>();
    default:
      fail_storage_dtype(op, d);
  }
}
/// The same, the error naming no op.
template <class F>
decltype(auto) dispatch_all(Dtype d, F&& f) {
  return dispatch_all(d, nullptr, std::forward<F>(f));
}

/// Calls `f.template operator()<T>()` with T = float, double, int64_t, int32_t or bool (every dtype): for
/// creation, conversion, printing and reading only.
template <class F>
decltype(auto) dispatch_every(Dtype d, F&& f) {
  switch (d) {
    case Dtype::Float32:
      return f.template operator()<float>();
    case Dtype::Float64:
      return f.template operator()<double>();
    case Dtype::Int64:
      return f.template operator()<std::int64_t>();
    case Dtype::Int32:
      return f.template operator()<std::int32_t>();
    default:
      return f.template operator()<bool>();
  }
}

}  // namespace ag
