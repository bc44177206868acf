#pragma once
/// @file ops/index.h
/// Indexing and joining. select, slice and narrow are views of their input (see Note: views in
/// tensor.h); the others make new tensors.

#include <cstdint>
#include <vector>

#include "autograd/tensor.h"

namespace ag {

/// The slice at `index` along `dim`, which is removed (negative index counts from the end);
/// grad = zeros with g placed at that index.
Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index);
/// Elements start, start+step, ... before end along `dim` (clamped to the size, as Python slicing);
/// grad = zeros with g scattered back.
Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1);
/// `length` elements from `start` along `dim` (must lie within the size).
Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length);
/// Rows of `dim` picked by a 1-D int64 index;  grad = index_add of g (repeats add up).
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index);
/// out[i][j] = x[i][index[i][j]] (for dim 1), int64 index of x's rank;  grad = scatter_add of g.
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index);
/// Concatenation along an existing dim;  grad = slices of g.
Tensor cat(const std::vector<Tensor>& xs, std::int64_t dim = 0);
/// Stacking along a new dim;  grad = selects of g.
Tensor stack(const std::vector<Tensor>& xs, std::int64_t dim = 0);

}  // namespace ag
