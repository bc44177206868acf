#pragma once
/// @file ops/softmax.h
/// Numerically stable log-sum-exp and softmax family over one dim.

#include <cstdint>

#include "autograd/tensor.h"

namespace ag {

/// log(sum(exp(x), dim)), shifted by the max;  grad = g * softmax(x, dim)
Tensor logsumexp(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// exp(x - max) / sum(exp(x - max));  grad = y * (g - sum(g * y, dim))
Tensor softmax(const Tensor& x, std::int64_t dim);
/// x - logsumexp(x, dim);  grad = g - softmax(x) * sum(g, dim)
Tensor log_softmax(const Tensor& x, std::int64_t dim);

}  // namespace ag
