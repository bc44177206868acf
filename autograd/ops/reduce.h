#pragma once
/// @file ops/reduce.h
/// Reductions over all elements or over one dim (keepdim keeps it with size 1).

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

/// max over `dim`: values (differentiable) and int64 indices;  grad flows to the first arg-max.
ValuesIndices max(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// min over `dim`: values and int64 indices;  grad flows to the first arg-min.
ValuesIndices min(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// max of all elements (0-d);  grad flows to the first arg-max.
Tensor max(const Tensor& x);
/// min of all elements (0-d).
Tensor min(const Tensor& x);
/// max over `dim`, values only;  grad split evenly between ties (as torch.amax).
Tensor amax(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// min over `dim`, values only;  grad split evenly between ties.
Tensor amin(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// int64 index of the max over `dim` (not differentiable).
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim = false);

}  // namespace ag
