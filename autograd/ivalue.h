#pragma once
/// @file ivalue.h
/// ag::IValue: the values of AutogradContext::saved_data, as libtorch's c10::IValue (the subset
/// custom functions use). Made implicitly from a double (or float), an integer, a bool, a Tensor,
/// a string, or a list of integers or doubles (a Shape too); read back with the toX() of the held
/// type. A toX() of another type is an ag::Error naming both types ("expected Double but got Int"),
/// as libtorch (which does not convert an Int to a Double either).

#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "autograd/tensor.h"

namespace ag {

class IValue {
 public:
  /// None.
  IValue() = default;
  IValue(double v) : v_(v) {}                      // NOLINT: implicit, as c10::IValue
  IValue(float v) : v_(static_cast<double>(v)) {}  // NOLINT
  IValue(bool v) : v_(v) {}                        // NOLINT
  /// Any integer type but bool: held as int64_t.
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  IValue(T v) : v_(static_cast<std::int64_t>(v)) {}                              // NOLINT
  IValue(Tensor v) : v_(std::move(v)) {}                                         // NOLINT
  IValue(std::string v) : v_(std::move(v)) {}                                    // NOLINT
  IValue(const char* v) : v_(std::string(v)) {}                                  // NOLINT: a string, not a bool
  IValue(std::vector<std::int64_t> v) : v_(std::move(v)) {}                      // NOLINT
  IValue(const Shape& v) : v_(std::vector<std::int64_t>(v.begin(), v.end())) {}  // NOLINT
  IValue(std::vector<double> v) : v_(std::move(v)) {}                            // NOLINT

  bool isNone() const { return v_.index() == 0; }
  bool isDouble() const { return std::holds_alternative<double>(v_); }
  bool isInt() const { return std::holds_alternative<std::int64_t>(v_); }
  bool isBool() const { return std::holds_alternative<bool>(v_); }
  bool isTensor() const { return std::holds_alternative<Tensor>(v_); }
  bool isString() const { return std::holds_alternative<std::string>(v_); }
  bool isIntList() const { return std::holds_alternative<std::vector<std::int64_t>>(v_); }
  bool isDoubleList() const { return std::holds_alternative<std::vector<double>>(v_); }

  double toDouble() const { return get<double>("toDouble"); }
  std::int64_t toInt() const { return get<std::int64_t>("toInt"); }
  bool toBool() const { return get<bool>("toBool"); }
  const Tensor& toTensor() const { return get<Tensor>("toTensor"); }
  const std::string& toStringRef() const { return get<std::string>("toStringRef"); }
  const std::vector<std::int64_t>& toIntVector() const { return get<std::vector<std::int64_t>>("toIntVector"); }
  const std::vector<double>& toDoubleVector() const { return get<std::vector<double>>("toDoubleVector"); }

  /// libtorch's name of the held type: "None", "Double", "Int", "Bool", "Tensor", "String",
  /// "IntList", "DoubleList".
  const char* tagKind() const;

 private:
  [[noreturn]] void type_error(const char* method, const char* expected) const;
  template <class T>
  const T& get(const char* method) const {
    if (const T* p = std::get_if<T>(&v_)) [[likely]]
      return *p;
    type_error(method, kind_of<T>());
  }
  template <class T>
  static const char* kind_of();

  std::variant<std::monostate, double, std::int64_t, bool, Tensor, std::string, std::vector<std::int64_t>,
               std::vector<double>>
      v_;
};

template <class T>
const char* IValue::kind_of() {
  if constexpr (std::is_same_v<T, double>) return "Double";
  else if constexpr (std::is_same_v<T, std::int64_t>) return "Int";
  else if constexpr (std::is_same_v<T, bool>) return "Bool";
  else if constexpr (std::is_same_v<T, Tensor>) return "Tensor";
  else if constexpr (std::is_same_v<T, std::string>) return "String";
  else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) return "IntList";
  else return "DoubleList";
}

namespace detail {
/// The demangled form of a typeid name ("MulConstant", "(anonymous namespace)::Cube").
std::string demangle(const char* mangled);
}  // namespace detail

}  // namespace ag
