#pragma once
/// @file ops/unary.h
/// Elementwise math and activations on floating tensors; each line gives the derivative.

#include "autograd/tensor.h"

namespace ag {

/// e^x;  d/dx = e^x (uses the saved output)
Tensor exp(const Tensor& x);
/// ln x;  d/dx = 1/x
Tensor log(const Tensor& x);
/// sqrt x;  d/dx = 1/(2 sqrt x) (uses the saved output)
Tensor sqrt(const Tensor& x);
/// |x|;  d/dx = sign(x) (0 at 0, as libtorch)
Tensor abs(const Tensor& x);
/// 1/(1+e^-x);  d/dx = y(1-y) (uses the saved output)
Tensor sigmoid(const Tensor& x);
/// tanh x;  d/dx = 1 - y^2 (uses the saved output)
Tensor tanh(const Tensor& x);
/// max(x, 0), NaN for NaN;  d/dx = 1 where x > 0 or x is NaN, else 0 (as PyTorch)
Tensor relu(const Tensor& x);
/// x if x > 0 else slope*x;  d/dx = 1 or slope
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
/// log(1 + e^(beta x))/beta, linear above `threshold` (libtorch's);  d/dx = sigmoid(beta x)
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
/// min(max(x, lo), hi) (all hi when lo > hi, as PyTorch);  d/dx = 1 where lo <= x <= hi, else 0
Tensor clamp(const Tensor& x, double lo, double hi);
Tensor clamp_min(const Tensor& x, double lo);
Tensor clamp_max(const Tensor& x, double hi);

}  // namespace ag
