#pragma once
/// @file ops/convert.h
/// Copies and dtype conversion.

#include "autograd/tensor.h"

namespace ag {

/// A deep copy;  grad = g
Tensor clone(const Tensor& x);
/// Converts to `dtype` (a copy, or x itself when the dtype already matches);  grad = g.to(x's dtype).
/// Gradients flow only between floating dtypes; converting to int64 cuts the graph (truncating toward
/// zero; NaN, infinities and values outside int64's range are an ag::Error).
Tensor to(const Tensor& x, Dtype dtype);
/// The same data, not recorded, not requiring grad.
Tensor detach(const Tensor& x);

}  // namespace ag
