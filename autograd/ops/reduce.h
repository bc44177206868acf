#pragma once
/// @file ops/reduce.h
/// Reductions over all elements or over one dim (keepdim keeps it with size 1). Floating inputs only;
/// a 0-d input reduces over dim 0 or -1. max/min/amax/amin/argmax over an empty dim are errors.

#include <cstdint>
#include <vector>

#include "autograd/tensor.h"

namespace ag {

/// sum of all elements (0-d);  grad = expand(g, input shape). An int64, int32 or bool tensor sums to an
/// int64 0-d count (not differentiable), as libtorch's.
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

// ---- composed of the ops above (autograd/ops/composite.cpp): no derivative of their own ----------
/// sum over several dims (highest first; an empty list: every dim, as libtorch); a repeated dim is an error.
/// `sum(x, {1})` picks the one-dim overload, `sum(x, {0, 1})` this one.
Tensor sum(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim = false);
/// mean over several dims: their sum divided by the number of elements summed.
Tensor mean(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim = false);
/// int64 index of the max of the flattened tensor (as torch::argmax without a dim).
Tensor argmax(const Tensor& x);
/// int64 index of the first min over `dim` (NaN counts as the min, as torch): argmax(-x).
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// int64 index of the min of the flattened tensor.
Tensor argmin(const Tensor& x);
/// The p-norm over `dims` (an empty list: every element), as torch::norm(x, p, dims, keepdim):
/// p = 2: sqrt(sum x^2); 1: sum |x|; inf / -inf: max / min |x|; 0: the count of nonzeros (not
/// differentiable); other p: (sum |x|^p)^(1/p). Gradients as libtorch's: 0 where the norm is 0 (p = 2 and
/// general p), split evenly between the ties of the max for p = inf.
Tensor norm(const Tensor& x, double p, const std::vector<std::int64_t>& dims, bool keepdim = false);
/// The p-norm over one dim.
Tensor norm(const Tensor& x, double p, std::int64_t dim, bool keepdim = false);
/// The p-norm of all elements (0-d).
Tensor norm(const Tensor& x, double p = 2.0);
/// 1 if every element is nonzero (NaN counts as nonzero; true for an empty tensor), else 0, in x's dtype:
/// there is no bool dtype, so this follows the comparisons (libtorch returns a bool tensor). Not
/// differentiable; int64 tensors work too.
Tensor all(const Tensor& x);
/// all over `dim`.
Tensor all(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// 1 if any element is nonzero (false for an empty tensor), else 0, in x's dtype (as all()).
Tensor any(const Tensor& x);
/// any over `dim`.
Tensor any(const Tensor& x, std::int64_t dim, bool keepdim = false);
}  // namespace ag
