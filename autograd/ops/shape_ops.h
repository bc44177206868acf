#pragma once
/// @file ops/shape_ops.h
/// Shape ops. All but sum_to are views: they share storage with their input (see Note: views in
/// tensor.h); reshape copies only when no strides can express the new shape.

#include <optional>
#include <vector>

#include "autograd/tensor.h"

namespace ag {

/// Same data, new shape (one -1 is inferred);  grad = reshape(g, input shape)
Tensor reshape(const Tensor& x, const Shape& shape);
/// As reshape, but never copies: throws ag::Error when the strides cannot express the new shape.
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
/// expand(x, other.sizes()).
Tensor expand_as(const Tensor& x, const Tensor& other);
/// The diagonal of the dim1 x dim2 planes (offset > 0 above the main diagonal), as a last dim.
Tensor diagonal(const Tensor& x, std::int64_t offset = 0, std::int64_t dim1 = 0, std::int64_t dim2 = 1);
/// Every window of `size` elements along `dim`, `step` apart, as a new last dim.
Tensor unfold(const Tensor& x, std::int64_t dim, std::int64_t size, std::int64_t step);
/// A view with the given sizes, strides and storage offset (default: x's) into x's storage, as
/// libtorch's. Differentiable when it reads only x's own elements and x is contiguous.
Tensor as_strided(const Tensor& x, const Shape& size, const Shape& stride,
                  std::optional<std::int64_t> storage_offset = std::nullopt);
/// Broadcasts to `shape` (as expand without -1).
Tensor broadcast_to(const Tensor& x, const Shape& shape);
/// The size(dim) slices of x along dim, dim removed (as torch::unbind): views of x. One node with
/// size(dim) outputs; outputs that get no gradient count as zeros;  grad = stack(grads, dim)
std::vector<Tensor> unbind(const Tensor& x, std::int64_t dim = 0);
/// Sums g down to `shape`, undoing broadcasting;  grad = expand(g, input shape).
/// Returns x itself when the shape already matches.
Tensor sum_to(const Tensor& x, const Shape& shape);

namespace detail {
/// Zeros of `shape` (row-major) with g's elements added at the positions the view (sizes, strides,
/// offset) of such a tensor reads: the gradient of every view op that picks elements. Its own
/// gradient is that view of the incoming gradient.
Tensor strided_scatter(const Tensor& g, const Shape& shape, const Shape& sizes, const Shape& strides,
                       std::int64_t offset);
}  // namespace detail

}  // namespace ag
