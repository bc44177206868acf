#pragma once
/// @file clip_grad.h
/// Gradient clipping, as torch::nn::utils.

#include <vector>

#include <autograd/autograd.h>

namespace ag::nn::utils {

/// Scales every gradient in place so that their joint norm is at most max_norm (norm_type 2, 1 or
/// infinity). Returns the norm before clipping. Parameters without a gradient are skipped.
double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type = 2.0);
/// Clamps every gradient element to [-clip_value, clip_value] in place.
void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value);

}  // namespace ag::nn::utils
