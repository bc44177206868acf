#pragma once
/// @file ops/reduce.h
/// Reductions over all elements or over one dim (keepdim keeps it with size 1). Floating inputs only;
/// a 0-d input reduces over dim 0 or -1. max/min/amax/amin/argmax over an empty dim are errors.

#include <cstdint>

#include "autograd/tensor.h"

namespace ag {

/// sum of all elements (0-d);  grad = expand(g, input shape)
Tensor sum(const Tensor& x);
/// sum over `dim`;  grad = expand(unsqueeze(g, dim), input shape)
Tensor sum(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// mean of all elements;  grad = g / numel
Tensor mean(const Tensor& x);
/// mean over `dim`;  grad = g / size(dim), broadcast back
Tensor mean(const Tensor& x, std::int64_t dim, bool keepdim = false);

}  // namespace ag

namespace ag {

/// Values and int64 indices of a max/min over a dim (as torch's named tuple).
struct ValuesIndices {
  Tensor values;
  Tensor indices;
};

/// max over `dim`: values and int64 indices of the first max (NaN wins);  grad = g at the index, 0 elsewhere
ValuesIndices max(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// min over `dim`: values and int64 indices of the first min;  grad = g placed at the returned index.
ValuesIndices min(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// max of all elements (0-d);  grad = g split evenly between the elements equal to the max (as libtorch).
Tensor max(const Tensor& x);
/// min of all elements (0-d);  grad = g split evenly between the elements equal to the min.
Tensor min(const Tensor& x);
/// max over `dim`, values only;  grad = g split evenly between the ties of each max; NaN over a
/// row whose max is NaN (as torch.amax).
Tensor amax(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// min over `dim`, values only;  grad = g split evenly between the ties of each min; NaN over a
/// row whose min is NaN (as torch.amin).
Tensor amin(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// int64 index of the first max over `dim` (not differentiable).
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim = false);

}  // namespace ag
