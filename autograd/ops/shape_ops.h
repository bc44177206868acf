#pragma once
/// @file ops/shape_ops.h
/// Shape ops. reshape/view/flatten/squeeze/unsqueeze share storage with their input;
/// transpose, permute and expand copy (every tensor here is contiguous).

#include <vector>

#include "autograd/tensor.h"

namespace ag {

/// Same data, new shape (one -1 is inferred);  grad = reshape(g, input shape)
Tensor reshape(const Tensor& x, const Shape& shape);
/// Same as reshape (every tensor is contiguous).
Tensor view(const Tensor& x, const Shape& shape);
/// Merges dims start..end into one.
Tensor flatten(const Tensor& x, std::int64_t start_dim = 0, std::int64_t end_dim = -1);
/// Drops every size-1 dim / the given dim if its size is 1.
Tensor squeeze(const Tensor& x);
Tensor squeeze(const Tensor& x, std::int64_t dim);
/// Inserts a size-1 dim at `dim` (in [-rank-1, rank]).
Tensor unsqueeze(const Tensor& x, std::int64_t dim);
/// Swaps two dims;  grad = transpose(g, d0, d1)
Tensor transpose(const Tensor& x, std::int64_t d0, std::int64_t d1);
/// Transpose of a tensor of rank <= 2 (as torch::t).
Tensor t(const Tensor& x);
/// Reorders dims;  grad = permute(g, inverse order)
Tensor permute(const Tensor& x, const Shape& dims);
/// Broadcasts to `shape` (-1 keeps a size; new leading dims allowed);  grad = sum_to(g, input shape)
Tensor expand(const Tensor& x, const Shape& shape);
/// Broadcasts to `shape` (as expand without -1).
Tensor broadcast_to(const Tensor& x, const Shape& shape);
/// The size(dim) slices of x along dim, dim removed (as torch::unbind): aliases of x's storage for
/// dim 0 (a dim-0 slice of a contiguous tensor is contiguous), copies otherwise. One node with
/// size(dim) outputs; outputs that get no gradient count as zeros;  grad = stack(grads, dim)
std::vector<Tensor> unbind(const Tensor& x, std::int64_t dim = 0);
/// Sums g down to `shape`, undoing broadcasting;  grad = expand(g, input shape).
/// Returns x itself when the shape already matches.
Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace ag
