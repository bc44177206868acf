#pragma once
/// @file shape.h
/// Shapes, strides, broadcasting and dim normalisation.

#include <cstdint>
#include <string>
#include <vector>

namespace ag {

/// Sizes of a tensor, outermost first. An empty shape is a 0-d scalar.
using Shape = std::vector<std::int64_t>;

/// Product of the sizes (1 for a 0-d shape).
std::int64_t shape_numel(const Shape& s);  // ag::Error when the product of the non-zero sizes overflows int64
/// Row-major (contiguous) strides, in elements.
Shape contiguous_strides(const Shape& s);
/// "[2, 3]" for messages.
std::string shape_str(const Shape& s);
/// NumPy broadcasting of two shapes; throws ag::Error naming `op` when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
/// Strides that read a tensor of shape `s` as if it had the broadcast shape `out` (0 on broadcast dims).
Shape broadcast_strides(const Shape& s, const Shape& out);
/// Maps a possibly negative dim into [0, rank); throws naming `op` when out of range.
std::int64_t normalize_dim(std::int64_t dim, std::int64_t rank, const char* op);

}  // namespace ag
