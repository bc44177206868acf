#pragma once
/// @file ops/pool.h
/// Pooling as torch::max_pool1d/2d, avg_pool1d/2d and adaptive_avg_pool1d/2d, over batched [N, C, ...]
/// or unbatched [C, ...] inputs, float32 or float64. A stride given as {} is the kernel size (torch's
/// default). Max pooling records the argmax of each window and is a gather of the input at those
/// indices, so its gradient is a scatter-add and its second derivative a gather again; average pooling
/// is linear, its VJP an op of its own whose VJP is the pooling again.

#include <tuple>

#include "autograd/expanding_array.h"
#include "autograd/tensor.h"

namespace ag {

/// torch::max_pool2d_with_indices: y [N, C, oh, ow] the maxima of the windows (padding counts as
/// -inf; NaN propagates), and their int64 indices r W + c within each input plane;
/// oh = floor-or-ceil((H + 2 ph - dh (kh - 1) - 1) / sh) + 1 (ceil_mode: the last window must start
/// inside the input or its left padding); padding at most half the kernel.
///  grad = g added at the indices (scatter_add), zero elsewhere
std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, ExpandingArray<2> kernel_size,
                                                   ExpandingArray<2> stride = {}, ExpandingArray<2> padding = 0,
                                                   ExpandingArray<2> dilation = 1, bool ceil_mode = false);
/// The maxima only.
Tensor max_pool2d(const Tensor& x, ExpandingArray<2> kernel_size, ExpandingArray<2> stride = {},
                  ExpandingArray<2> padding = 0, ExpandingArray<2> dilation = 1, bool ceil_mode = false);
/// torch::max_pool1d_with_indices over [N, C, L] (or [C, L]); indices within L.
std::tuple<Tensor, Tensor> max_pool1d_with_indices(const Tensor& x, ExpandingArray<1> kernel_size,
                                                   ExpandingArray<1> stride = {}, ExpandingArray<1> padding = 0,
                                                   ExpandingArray<1> dilation = 1, bool ceil_mode = false);
Tensor max_pool1d(const Tensor& x, ExpandingArray<1> kernel_size, ExpandingArray<1> stride = {},
                  ExpandingArray<1> padding = 0, ExpandingArray<1> dilation = 1, bool ceil_mode = false);

/// torch::avg_pool2d: the mean of each window; with count_include_pad the padding's zeros count in the
/// divisor (the window clipped to the padded input), without only the input's elements do. Output size
/// as max_pool2d with dilation 1.  grad = g / divisor spread over each window (avg_pool2d_backward)
Tensor avg_pool2d(const Tensor& x, ExpandingArray<2> kernel_size, ExpandingArray<2> stride = {},
                  ExpandingArray<2> padding = 0, bool ceil_mode = false, bool count_include_pad = true);
/// torch::avg_pool1d over [N, C, L] (or [C, L]).
Tensor avg_pool1d(const Tensor& x, ExpandingArray<1> kernel_size, ExpandingArray<1> stride = {},
                  ExpandingArray<1> padding = 0, bool ceil_mode = false, bool count_include_pad = true);

/// torch::adaptive_avg_pool2d: output [N, C, oh, ow]; output row i averages input rows
/// [floor(i H / oh), ceil((i + 1) H / oh)) (columns alike).  grad = g spread over each window
Tensor adaptive_avg_pool2d(const Tensor& x, ExpandingArray<2> output_size);
/// torch::adaptive_avg_pool1d over [N, C, L] (or [C, L]).
Tensor adaptive_avg_pool1d(const Tensor& x, ExpandingArray<1> output_size);

}  // namespace ag
