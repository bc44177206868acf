#pragma once
/// @file ops/scan_sort.h
/// Scans (cumsum, cumprod), products (prod) and sorting (sort, argsort, topk) along a dim, as
/// libtorch. Scans and products take floating tensors only; sort, argsort and topk also int64 ones.
/// A 0-d tensor takes dim 0 or -1. Indices are int64.

#include <cstdint>
#include <tuple>

#include "autograd/tensor.h"

namespace ag {

/// Running sum along `dim`;  grad = the reversed running sum of g along dim.
Tensor cumsum(const Tensor& x, std::int64_t dim);
/// Running product along `dim`. grad = revcumsum(g y) / x when x has no zero; with zeros, the
/// gradient of each element is built from the products of the others (PyTorch's O(n^2)
/// cumprod_backward, one op per position along dim): exact, and differentiable again.
Tensor cumprod(const Tensor& x, std::int64_t dim);
/// Product of all elements (0-d; 1 for an empty tensor). grad = g y / x without zeros; with one zero
/// the product of the others at the zero and 0 elsewhere; 0 with two zeros or more (as PyTorch).
Tensor prod(const Tensor& x);
/// Product over `dim`. grad as PyTorch: g y / x when x has no zero, else g times the product of the
/// other elements of the slice (exclusive prefix and suffix products), right for any zero count.
Tensor prod(const Tensor& x, std::int64_t dim, bool keepdim = false);

/// Sorted values along `dim` and the int64 indices they came from. The sort is stable (ties keep their
/// order, either direction); NaN sorts above every number (last ascending, first descending), as torch.
/// (No overload takes torch's `stable` flag: sort(x, true, 0) would silently pick this one.)
/// grad = g scattered back to the indices (values are gather(x, dim, indices)).
std::tuple<Tensor, Tensor> sort(const Tensor& x, std::int64_t dim = -1, bool descending = false);
/// The int64 indices of sort(x, dim, descending) (not differentiable).
Tensor argsort(const Tensor& x, std::int64_t dim = -1, bool descending = false);
/// The k largest (or smallest) values along `dim` and their int64 indices, in sorted order (also
/// when !sorted). NaN counts as the largest value. Ties keep index order (PyTorch leaves their order
/// unspecified). 0 <= k <= size(dim), else an ag::Error.  grad = g scattered back to the indices.
std::tuple<Tensor, Tensor> topk(const Tensor& x, std::int64_t k, std::int64_t dim = -1, bool largest = true,
                                bool sorted = true);

}  // namespace ag
