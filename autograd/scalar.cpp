// ag::Scalar's checked conversions and printing.
#include "autograd/scalar.h"

#include <cmath>
#include <limits>

namespace ag {

namespace {

const char* kind_name(Scalar::Kind k) {
  switch (k) {
    case Scalar::Kind::Double:
      return "double";
    case Scalar::Kind::Int64:
      return "int64";
    default:
      return "bool";
  }
}

template <class T>
const char* type_name() {
  if constexpr (std::is_same_v<T, float>) return "float";
  if constexpr (std::is_same_v<T, double>) return "double";
  if constexpr (std::is_same_v<T, std::int64_t>) return "int64_t";
  if constexpr (std::is_same_v<T, int>) return "int";
  return "bool";
}

}  // namespace

template <ScalarConvertible T>
T Scalar::to() const {
  if constexpr (std::is_same_v<T, bool>) {
    switch (kind_) {
      case Kind::Double:
        return v_.d != 0.0;  // NaN is true, as C++ and libtorch
      case Kind::Int64:
        return v_.i != 0;
      default:
        return v_.b;
    }
  } else if constexpr (std::is_integral_v<T>) {
    if (kind_ == Kind::Bool) return static_cast<T>(v_.b);
    if (kind_ == Kind::Int64) {
      if (v_.i < std::numeric_limits<T>::min() || v_.i > std::numeric_limits<T>::max())
        fail("Scalar::to<{}>: the {} value {} cannot be converted to type {} without overflow", type_name<T>(),
             kind_name(kind_), v_.i, type_name<T>());
      return static_cast<T>(v_.i);
    }
    // [min, -min) holds exactly the doubles whose truncation fits T (min is a power of two)
    const double lo = static_cast<double>(std::numeric_limits<T>::min());
    if (!(v_.d >= lo && v_.d < -lo))
      fail("Scalar::to<{}>: the {} value {} cannot be converted to type {} without overflow", type_name<T>(),
           kind_name(kind_), v_.d, type_name<T>());
    return static_cast<T>(v_.d);
  } else {
    if (kind_ == Kind::Bool) return static_cast<T>(v_.b ? 1 : 0);
    const double d = kind_ == Kind::Int64 ? static_cast<double>(v_.i) : v_.d;
    if constexpr (std::is_same_v<T, float>) {
      if (std::isfinite(d) && std::abs(d) > static_cast<double>(std::numeric_limits<float>::max()))
        fail("Scalar::to<float>: the {} value {} cannot be converted to type float without overflow", kind_name(kind_),
             d);
    }
    return static_cast<T>(d);
  }
}

template float Scalar::to<float>() const;
template double Scalar::to<double>() const;
template std::int64_t Scalar::to<std::int64_t>() const;
template int Scalar::to<int>() const;
template bool Scalar::to<bool>() const;

Scalar Scalar::operator-() const {
  switch (kind_) {
    case Kind::Double:
      return Scalar(-v_.d);
    case Kind::Int64:
      return Scalar(static_cast<std::int64_t>(0 - static_cast<std::uint64_t>(v_.i)));  // wraps, no UB
    default:
      fail("Scalar: negation of a bool is not supported (as libtorch's)");
  }
}

std::ostream& operator<<(std::ostream& os, const Scalar& s) {
  switch (s.kind()) {
    case Scalar::Kind::Double:
      return os << s.toDouble();
    case Scalar::Kind::Int64:
      return os << s.toLong();
    default:
      return os << (s.toBool() ? "true" : "false");
  }
}

}  // namespace ag
