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
/// 1/(1+e^-x);  VJP sigmoid_backward(g, y) (uses the saved output)
Tensor sigmoid(const Tensor& x);
/// tanh x;  VJP tanh_backward(g, y) (uses the saved output)
Tensor tanh(const Tensor& x);
/// max(x, 0), NaN for NaN;  VJP threshold_backward(g, y, 0) (uses the saved output; gradient 1 at NaN, as PyTorch)
Tensor relu(const Tensor& x);
/// x if x > 0 else slope*x;  d/dx = 1 or slope
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
/// log(1 + e^(beta x))/beta, linear above `threshold` (libtorch's);  d/dx = sigmoid(beta x)
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
/// min(max(x, lo), hi) (all hi when lo > hi, as PyTorch);  d/dx = 1 where lo <= x <= hi, else 0
Tensor clamp(const Tensor& x, double lo, double hi);
Tensor clamp_min(const Tensor& x, double lo);
Tensor clamp_max(const Tensor& x, double hi);

// Backward ops (PyTorch's names and argument order): the VJPs of the activations above as ops of
// their own, so that a double backward differentiates them through their own VJPs. grad and the
// second tensor must be floating, of one dtype and one shape.

/// grad (1 - y^2), y = tanh(x): tanh's derivative (its one copy);
///  d/dgrad = tanh_backward(., y),  d/dy = -2 grad y
Tensor tanh_backward(const Tensor& grad, const Tensor& output);
/// grad y (1 - y), y = sigmoid(x): sigmoid's derivative (its one copy);
///  d/dgrad = sigmoid_backward(., y),  d/dy = grad (1 - 2y)
Tensor sigmoid_backward(const Tensor& grad, const Tensor& output);
/// grad where self > threshold, else 0: relu's derivative with self = x or y = relu(x), threshold 0;
///  d/dgrad = threshold_backward(., self, threshold),  d/dself = 0 (no gradient)
Tensor threshold_backward(const Tensor& grad, const Tensor& self, double threshold);

}  // namespace ag
