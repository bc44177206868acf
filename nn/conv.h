#pragma once
/// @file conv.h
/// nn::Conv1d and nn::Conv2d (as libtorch's, zero padding only) and their functional forms
/// F::conv1d / F::conv2d, plus F::unfold / F::fold (im2col / col2im).

#include <variant>

#include "nn/module.h"

namespace ag::nn {

/// A convolution's padding: sizes (one per dim, or one for all), or kSame / kValid.
template <std::size_t D>
using ConvPadding = std::variant<ExpandingArray<D>, enumtype::kValid, enumtype::kSame>;

/// Options with chainable setters: `Conv2dOptions(3, 16, 3).stride(1).padding(1).bias(false)`.
template <std::size_t D>
struct ConvOptions {
  ConvOptions(std::int64_t in_channels, std::int64_t out_channels, ExpandingArray<D> kernel_size)
      : in_(in_channels), out_(out_channels), kernel_(kernel_size) {}
  ConvOptions& stride(ExpandingArray<D> v) {
    stride_ = v;
    return *this;
  }
  ConvOptions& padding(ConvPadding<D> v) {
    padding_ = v;
    return *this;
  }
  ConvOptions& padding(std::int64_t v) { return padding(ConvPadding<D>(ExpandingArray<D>(v))); }
  ConvOptions& padding(std::initializer_list<std::int64_t> v) { return padding(ConvPadding<D>(ExpandingArray<D>(v))); }
  ConvOptions& dilation(ExpandingArray<D> v) {
    dilation_ = v;
    return *this;
  }
  ConvOptions& groups(std::int64_t v) {
    groups_ = v;
    return *this;
  }
  ConvOptions& bias(bool on) {
    bias_ = on;
    return *this;
  }
  ConvOptions& dtype(Dtype d) {
    dtype_ = d;
    return *this;
  }
  std::int64_t in_channels() const { return in_; }
  std::int64_t out_channels() const { return out_; }
  const ExpandingArray<D>& kernel_size() const { return kernel_; }
  const ExpandingArray<D>& stride() const { return stride_; }
  const ConvPadding<D>& padding() const { return padding_; }
  const ExpandingArray<D>& dilation() const { return dilation_; }
  std::int64_t groups() const { return groups_; }
  bool bias() const { return bias_; }
  Dtype dtype() const { return dtype_; }

 private:
  std::int64_t in_, out_;
  ExpandingArray<D> kernel_;
  ExpandingArray<D> stride_ = 1;
  ConvPadding<D> padding_ = ExpandingArray<D>(0);
  ExpandingArray<D> dilation_ = 1;
  std::int64_t groups_ = 1;
  bool bias_ = true;
  Dtype dtype_ = kFloat32;
};
using Conv1dOptions = ConvOptions<1>;
using Conv2dOptions = ConvOptions<2>;

/// A convolution layer: weight [out, in / groups, k...], bias [out]. Initialised as libtorch:
/// kaiming_uniform_(weight, a = sqrt(5)), bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
/// fan_in = in / groups * prod(k). forward: [N, in, ...] (or [in, ...]) -> [N, out, ...].
template <std::size_t D>
class ConvNdImpl : public Module {
 public:
  explicit ConvNdImpl(const ConvOptions<D>& options);
  ConvNdImpl(std::int64_t in, std::int64_t out, ExpandingArray<D> kernel_size)
      : ConvNdImpl(ConvOptions<D>(in, out, kernel_size)) {}
  Tensor forward(const Tensor& x) const;
  /// Re-draws the parameters with libtorch's default initialisation.
  void reset_parameters();
  const ConvOptions<D>& options() const { return options_; }

  Tensor weight;
  Tensor bias;  ///< undefined when options.bias(false)

 private:
  ConvOptions<D> options_;
};
using Conv1dImpl = ConvNdImpl<1>;
using Conv2dImpl = ConvNdImpl<2>;
extern template class ConvNdImpl<1>;
extern template class ConvNdImpl<2>;

class Conv1d : public ModuleHolder<Conv1dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};
class Conv2d : public ModuleHolder<Conv2dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};

namespace functional {

/// Options of F::conv1d / F::conv2d: bias, stride, padding (sizes or kSame / kValid), dilation, groups.
template <std::size_t D>
struct ConvFuncOptions {
  ConvFuncOptions& bias(const Tensor& b) {
    bias_ = b;
    return *this;
  }
  ConvFuncOptions& stride(ExpandingArray<D> v) {
    stride_ = v;
    return *this;
  }
  ConvFuncOptions& padding(ConvPadding<D> v) {
    padding_ = v;
    return *this;
  }
  ConvFuncOptions& padding(std::int64_t v) { return padding(ConvPadding<D>(ExpandingArray<D>(v))); }
  ConvFuncOptions& padding(std::initializer_list<std::int64_t> v) {
    return padding(ConvPadding<D>(ExpandingArray<D>(v)));
  }
  ConvFuncOptions& dilation(ExpandingArray<D> v) {
    dilation_ = v;
    return *this;
  }
  ConvFuncOptions& groups(std::int64_t v) {
    groups_ = v;
    return *this;
  }
  const Tensor& bias() const { return bias_; }
  const ExpandingArray<D>& stride() const { return stride_; }
  const ConvPadding<D>& padding() const { return padding_; }
  const ExpandingArray<D>& dilation() const { return dilation_; }
  std::int64_t groups() const { return groups_; }

 private:
  Tensor bias_;
  ExpandingArray<D> stride_ = 1;
  ConvPadding<D> padding_ = ExpandingArray<D>(0);
  ExpandingArray<D> dilation_ = 1;
  std::int64_t groups_ = 1;
};
using Conv1dFuncOptions = ConvFuncOptions<1>;
using Conv2dFuncOptions = ConvFuncOptions<2>;

/// ag::conv1d / ag::conv2d with options (autograd/ops/conv.h states shapes and gradients).
Tensor conv1d(const Tensor& input, const Tensor& weight, const Conv1dFuncOptions& options = {});
Tensor conv2d(const Tensor& input, const Tensor& weight, const Conv2dFuncOptions& options = {});

/// Options of F::unfold: kernel size, dilation, padding, stride.
struct UnfoldOptions {
  UnfoldOptions(ExpandingArray<2> kernel_size) : kernel_(kernel_size) {}  // NOLINT: implicit, as libtorch's
  UnfoldOptions& dilation(ExpandingArray<2> v) {
    dilation_ = v;
    return *this;
  }
  UnfoldOptions& padding(ExpandingArray<2> v) {
    padding_ = v;
    return *this;
  }
  UnfoldOptions& stride(ExpandingArray<2> v) {
    stride_ = v;
    return *this;
  }
  ExpandingArray<2> kernel_, dilation_ = 1, padding_ = 0, stride_ = 1;
};
/// Options of F::fold: output size and kernel size, then as UnfoldOptions.
struct FoldOptions {
  FoldOptions(ExpandingArray<2> output_size, ExpandingArray<2> kernel_size)
      : output_(output_size), kernel_(kernel_size) {}
  FoldOptions& dilation(ExpandingArray<2> v) {
    dilation_ = v;
    return *this;
  }
  FoldOptions& padding(ExpandingArray<2> v) {
    padding_ = v;
    return *this;
  }
  FoldOptions& stride(ExpandingArray<2> v) {
    stride_ = v;
    return *this;
  }
  ExpandingArray<2> output_, kernel_, dilation_ = 1, padding_ = 0, stride_ = 1;
};
/// ag::im2col: [N, C, H, W] -> [N, C kh kw, L].
Tensor unfold(const Tensor& input, const UnfoldOptions& options);
/// ag::col2im: [N, C kh kw, L] -> [N, C, H, W].
Tensor fold(const Tensor& input, const FoldOptions& options);

}  // namespace functional

}  // namespace ag::nn
