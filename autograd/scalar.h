#pragma once
/// @file scalar.h
/// ag::Scalar, as libtorch's c10::Scalar: one number, held as a double, an int64 or a bool, with
/// checked conversions. Tensor::item() returns one.
///
///     const ag::Scalar s = loss.item();
///     double d = s.toDouble();  std::int64_t n = s.to<std::int64_t>();  std::cout << s;

#include <concepts>
#include <cstdint>
#include <ostream>
#include <type_traits>

#include "autograd/error.h"

namespace ag {

/// A C++ type that Scalar::to<T>() and Tensor::item<T>() convert to.
template <class T>
concept ScalarConvertible = std::same_as<T, float> || std::same_as<T, double> || std::same_as<T, std::int64_t> ||
    std::same_as<T, int> || std::same_as<T, bool>;

/// One number: a double (from a floating value), an int64 (from an integral one) or a bool.
/// Conversions are checked as libtorch's: to an integral type, a value out of its range (or NaN,
/// infinity) is an ag::Error; to float, a finite value beyond float's range is one; a floating value
/// converts to an integer by truncation toward zero; to bool, any nonzero value (and NaN) is true.
class Scalar {
 public:
  /// The kind of value held.
  enum class Kind : std::uint8_t { Double, Int64, Bool };

  /// 0 as an int64 (as libtorch's default Scalar).
  Scalar() noexcept { v_.i = 0; }
  Scalar(bool v) noexcept : kind_(Kind::Bool) { v_.b = v; }  // NOLINT(google-explicit-constructor)
  /// From any integral type but bool: held as an int64.
  template <std::integral I>
  requires(!std::same_as<I, bool>) Scalar(I v)
  noexcept : kind_(Kind::Int64) {  // NOLINT(google-explicit-constructor)
    v_.i = static_cast<std::int64_t>(v);
  }
  /// From float or double: held as a double.
  template <std::floating_point F>
  Scalar(F v) noexcept : kind_(Kind::Double) {  // NOLINT(google-explicit-constructor)
    v_.d = static_cast<double>(v);
  }

  Kind kind() const noexcept { return kind_; }
  bool isFloatingPoint() const noexcept { return kind_ == Kind::Double; }
  /// True for an int64 (and for a bool when includeBool), as libtorch's.
  bool isIntegral(bool includeBool) const noexcept {
    return kind_ == Kind::Int64 || (includeBool && kind_ == Kind::Bool);
  }
  bool isBoolean() const noexcept { return kind_ == Kind::Bool; }

  /// The value converted to T (float, double, int64_t, int or bool), checked as described above;
  /// any other T does not compile.
  template <ScalarConvertible T>
  T to() const;
  double toDouble() const { return to<double>(); }
  float toFloat() const { return to<float>(); }
  std::int64_t toLong() const { return to<std::int64_t>(); }
  int toInt() const { return to<int>(); }
  bool toBool() const { return to<bool>(); }

  /// -s, keeping the kind; a bool is an ag::Error (as libtorch's).
  Scalar operator-() const;
  /// Same kind and same value: a double 1.0 and an int64 1 differ (compare toDouble()s for numeric
  /// equality).
  friend bool operator==(const Scalar& a, const Scalar& b) noexcept {
    if (a.kind_ != b.kind_) return false;
    switch (a.kind_) {
      case Kind::Double:
        return a.v_.d == b.v_.d;
      case Kind::Int64:
        return a.v_.i == b.v_.i;
      default:
        return a.v_.b == b.v_.b;
    }
  }

 private:
  Kind kind_ = Kind::Int64;
  union {
    double d;
    std::int64_t i;
    bool b;
  } v_;
};

/// Prints the value as libtorch does: a double as the stream prints it, an int64 as an integer,
/// a bool as "true" or "false".
std::ostream& operator<<(std::ostream& os, const Scalar& s);

extern template float Scalar::to<float>() const;
extern template double Scalar::to<double>() const;
extern template std::int64_t Scalar::to<std::int64_t>() const;
extern template int Scalar::to<int>() const;
extern template bool Scalar::to<bool>() const;

}  // namespace ag
