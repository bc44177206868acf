#pragma once
/// @file dtype.h
/// Runtime element types and the dispatch helpers that turn them into C++ types.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "autograd/error.h"

namespace ag {

/// Element type of a tensor, chosen at run time.
enum class Dtype : std::uint8_t { Float32, Float64, Int64 };

inline constexpr Dtype kFloat32 = Dtype::Float32;  ///< 32-bit float (libtorch's default).
inline constexpr Dtype kFloat64 = Dtype::Float64;  ///< 64-bit float (use it for gradcheck).
inline constexpr Dtype kInt64 = Dtype::Int64;      ///< indices and class labels, never differentiable.
inline constexpr Dtype kFloat = kFloat32;
inline constexpr Dtype kDouble = kFloat64;
inline constexpr Dtype kLong = kInt64;

/// Bytes per element.
constexpr std::size_t itemsize(Dtype d) { return d == Dtype::Float32 ? 4 : 8; }
/// "float32", "float64" or "int64".
std::string_view dtype_name(Dtype d);
/// True for the floating dtypes (the ones that can require a gradient).
constexpr bool is_floating(Dtype d) { return d != Dtype::Int64; }

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

/// Calls `f.template operator()<T>()` with T = float, double or int64_t.
template <class F>
decltype(auto) dispatch_all(Dtype d, F&& f) {
  switch (d) {
    case Dtype::Float32:
      return f.template operator()<float>();
    case Dtype::Float64:
      return f.template operator()<double>();
    default:
      return f.template operator()<std::int64_t>();
  }
}

}  // namespace ag
