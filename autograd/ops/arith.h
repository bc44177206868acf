#pragma once
/// @file ops/arith.h
/// Arithmetic with NumPy broadcasting. A C++ scalar takes the tensor's dtype.
/// Each line states the op and its derivative; gradients of broadcast inputs are summed back
/// to the input's shape (sum_to).

#include "autograd/tensor.h"

namespace ag {

/// a + b;  d/da = 1, d/db = 1
Tensor add(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double b);
/// a - b;  d/da = 1, d/db = -1
Tensor sub(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, double b);
Tensor sub(double a, const Tensor& b);
/// a * b;  d/da = b, d/db = a
Tensor mul(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, double b);
/// a / b;  d/da = 1/b, d/db = -a/b^2
Tensor div(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, double b);
Tensor div(double a, const Tensor& b);
/// -a;  d/da = -1
Tensor neg(const Tensor& a);
/// a^p for a scalar exponent;  d/da = p a^(p-1)
Tensor pow(const Tensor& a, double p);
/// a^2;  d/da = 2a
Tensor square(const Tensor& a);

/// A Tensor and an ag::Scalar (item()'s result, as in `x.mm(w) + b.item()`): the Scalar as a double.
inline Tensor operator+(const Tensor& a, const Scalar& b);
inline Tensor operator+(const Scalar& a, const Tensor& b);
inline Tensor operator-(const Tensor& a, const Scalar& b);
inline Tensor operator-(const Scalar& a, const Tensor& b);
inline Tensor operator*(const Tensor& a, const Scalar& b);
inline Tensor operator*(const Scalar& a, const Tensor& b);
inline Tensor operator/(const Tensor& a, const Scalar& b);
inline Tensor operator/(const Scalar& a, const Tensor& b);
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, double b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, double b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, double b);
Tensor operator/(double a, const Tensor& b);
Tensor operator-(const Tensor& a);

inline Tensor operator+(const Tensor& a, const Scalar& b) { return a + b.toDouble(); }
inline Tensor operator+(const Scalar& a, const Tensor& b) { return a.toDouble() + b; }
inline Tensor operator-(const Tensor& a, const Scalar& b) { return a - b.toDouble(); }
inline Tensor operator-(const Scalar& a, const Tensor& b) { return a.toDouble() - b; }
inline Tensor operator*(const Tensor& a, const Scalar& b) { return a * b.toDouble(); }
inline Tensor operator*(const Scalar& a, const Tensor& b) { return a.toDouble() * b; }
inline Tensor operator/(const Tensor& a, const Scalar& b) { return a / b.toDouble(); }
inline Tensor operator/(const Scalar& a, const Tensor& b) { return a.toDouble() / b; }

}  // namespace ag
