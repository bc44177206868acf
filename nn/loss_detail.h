#pragma once
// Private to nn's loss files: the reduction and the argument checks they share.

#include "nn/loss_options.h"

namespace ag::nn::detail {

/// per_element reduced by r; kBatchMean is refused (kl_div handles it itself), naming `op`.
Tensor reduce_loss(const Tensor& per_element, Reduction r, const char* op);

/// input and target defined, of one shape and one floating dtype; otherwise an ag::Error naming op.
void check_loss_pair(const Tensor& input, const Tensor& target, const char* op);

}  // namespace ag::nn::detail
