#pragma once
/// @file ops/conv.h
/// Convolution as torch::conv1d / conv2d: per sample, im2col into a scratch buffer then one GEMM per
/// group. The convolution and its two backward ops (input and weight gradients) are each other's VJPs,
/// as PyTorch's convolution_backward, so convolutions are differentiable to any order and keep only
/// their inputs for backward. im2col and col2im (torch's unfold and fold) are ops too, each the
/// other's VJP. Inputs are batched [N, C, ...] or unbatched [C, ...], float32 or float64; weight
/// [out, in / groups, k...], bias [out] or undefined.

#include <string_view>
#include <type_traits>

#include "autograd/expanding_array.h"
#include "autograd/tensor.h"

namespace ag {

namespace enumtype {
struct kSame {};
struct kValid {};
}  // namespace enumtype
/// Padding modes of the convolutions, as torch::kSame and torch::kValid.
inline constexpr enumtype::kSame kSame{};
inline constexpr enumtype::kValid kValid{};

/// torch::im2col (F::unfold): x [N, C, H, W] -> [N, C kh kw, L], L the number of window positions;
/// column l holds the window at position l, row c kh kw + a kw + b its element (c, a, b) (0 in padding).
///  grad = col2im(g, (H, W), ...)
Tensor im2col(const Tensor& x, ExpandingArray<2> kernel_size, ExpandingArray<2> dilation = 1,
              ExpandingArray<2> padding = 0, ExpandingArray<2> stride = 1);
/// torch::col2im (F::fold), the adjoint of im2col: cols [N, C kh kw, L] -> [N, C, H, W] with (H, W) =
/// output_size, each column's entries added back where im2col read them.  grad = im2col(g, ...)
Tensor col2im(const Tensor& cols, ExpandingArray<2> output_size, ExpandingArray<2> kernel_size,
              ExpandingArray<2> dilation = 1, ExpandingArray<2> padding = 0, ExpandingArray<2> stride = 1);

/// torch::conv2d: x [N, C, H, W] (or [C, H, W]), weight [O, C / groups, kh, kw], bias [O] or undefined;
/// y [N, O, oh, ow] with oh = (H + 2 ph - dh (kh - 1) - 1) / sh + 1 (ow alike);
///  per group, y = weight_g @ im2col(x)_g + bias;  dx = col2im(weight_g^T g_g) (conv2d_backward_input),
///  dweight_g = sum over samples of g_g im2col(x)_g^T (conv2d_backward_weight), dbias = g summed over N, oh, ow
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), ExpandingArray<2> stride = 1,
              ExpandingArray<2> padding = 0, ExpandingArray<2> dilation = 1, std::int64_t groups = 1);
namespace detail {
Tensor conv2d_mode(const Tensor& x, const Tensor& weight, const Tensor& bias, ExpandingArray<2> stride,
                   std::string_view padding, ExpandingArray<2> dilation, std::int64_t groups);
Tensor conv1d_mode(const Tensor& x, const Tensor& weight, const Tensor& bias, ExpandingArray<1> stride,
                   std::string_view padding, ExpandingArray<1> dilation, std::int64_t groups);
/// A padding mode string ("same"), not an integer (a literal 0 would convert to both).
template <class S>
inline constexpr bool is_padding_mode = std::is_convertible_v<const S&, std::string_view> && !std::is_arithmetic_v<S>;
}  // namespace detail

/// The same with padding "same" (stride 1 only; the output has the input's size; an odd total padding
/// puts the extra row or column after, as torch) or "valid" (no padding).
template <class S, std::enable_if_t<detail::is_padding_mode<S>, int> = 0>
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, ExpandingArray<2> stride, const S& padding,
              ExpandingArray<2> dilation = 1, std::int64_t groups = 1) {
  return detail::conv2d_mode(x, weight, bias, stride, std::string_view(padding), dilation, groups);
}

/// torch::conv1d: x [N, C, L] (or [C, L]), weight [O, C / groups, k]; conv2d over a height of 1.
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), ExpandingArray<1> stride = 1,
              ExpandingArray<1> padding = 0, ExpandingArray<1> dilation = 1, std::int64_t groups = 1);
/// The same with padding "same" or "valid".
template <class S, std::enable_if_t<detail::is_padding_mode<S>, int> = 0>
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, ExpandingArray<1> stride, const S& padding,
              ExpandingArray<1> dilation = 1, std::int64_t groups = 1) {
  return detail::conv1d_mode(x, weight, bias, stride, std::string_view(padding), dilation, groups);
}

}  // namespace ag
