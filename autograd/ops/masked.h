#pragma once
/// @file ops/masked.h
/// masked_fill and masked_select (libtorch's), as free functions. A mask is a bool tensor, or a
/// floating, int64 or int32 one holding only 0 and 1 (see detail::mask_values in ops/indexing.h),
/// broadcastable as each op says.

#include "autograd/tensor.h"

namespace ag {

/// x with `value` where mask is 1; mask broadcasts to x's shape (the result has x's shape);
/// grad = g where the mask is 0.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
/// The same with a 0-d `value` tensor (converted to x's dtype); grad_value = the sum of g where the mask is 1.
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value);
/// The elements of x where mask is 1, as a 1-D tensor in row-major order (x and mask broadcast
/// together);  grad = g scattered back to those elements (summed over broadcast dims).
Tensor masked_select(const Tensor& x, const Tensor& mask);

}  // namespace ag
