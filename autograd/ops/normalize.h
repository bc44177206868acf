#pragma once
/// @file ops/normalize.h
/// The fused standardisation under nn::LayerNorm and nn::GroupNorm: one pass per row instead of the
/// composite's mean, subtraction, square, mean, rsqrt and product, each with its own backward.

#include <cstdint>
#include <tuple>

#include "autograd/tensor.h"

namespace ag {

/// x read as [rows, n] (n = numel / rows > 0): xhat = (x - mean) * rstd per row, rstd = 1 / sqrt(biased
/// var + eps). Returns xhat in x's shape and rstd [rows]. The VJP is written with ops on the outputs, so
/// it is differentiable again: with g, gr the gradients of xhat and rstd (rows of n),
///  dx = rstd (g - mean(g) - xhat mean(g xhat)) - gr rstd^2 xhat / n
std::tuple<Tensor, Tensor> normalize_rows(const Tensor& x, std::int64_t rows, double eps);

}  // namespace ag
