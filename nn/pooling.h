#pragma once
/// @file pooling.h
/// Pooling layers as libtorch's: nn::MaxPool1d/2d, nn::AvgPool1d/2d, nn::AdaptiveAvgPool1d/2d, and the
/// functional forms F::max_pool1d/2d (and _with_indices), F::avg_pool1d/2d, F::adaptive_avg_pool1d/2d.
/// Shapes, defaults and gradients: autograd/ops/pool.h.

#include <tuple>

#include "nn/module.h"

namespace ag::nn {

/// `MaxPool2dOptions(2).stride(2).padding(0).dilation(1).ceil_mode(false)`; the stride defaults to the
/// kernel size.
template <std::size_t D>
struct MaxPoolOptions {
  MaxPoolOptions(ExpandingArray<D> kernel_size) : kernel_size_(kernel_size), stride_(kernel_size) {}  // NOLINT
  MaxPoolOptions& stride(ExpandingArray<D> v) {
    stride_ = v;
    return *this;
  }
  MaxPoolOptions& padding(ExpandingArray<D> v) {
    padding_ = v;
    return *this;
  }
  MaxPoolOptions& dilation(ExpandingArray<D> v) {
    dilation_ = v;
    return *this;
  }
  MaxPoolOptions& ceil_mode(bool v) {
    ceil_mode_ = v;
    return *this;
  }
  const ExpandingArray<D>& kernel_size() const { return kernel_size_; }
  const ExpandingArray<D>& stride() const { return stride_; }
  const ExpandingArray<D>& padding() const { return padding_; }
  const ExpandingArray<D>& dilation() const { return dilation_; }
  bool ceil_mode() const { return ceil_mode_; }

 private:
  ExpandingArray<D> kernel_size_, stride_, padding_ = 0, dilation_ = 1;
  bool ceil_mode_ = false;
};
using MaxPool1dOptions = MaxPoolOptions<1>;
using MaxPool2dOptions = MaxPoolOptions<2>;

/// `AvgPool2dOptions(2).stride(2).padding(0).ceil_mode(false).count_include_pad(true)`.
template <std::size_t D>
struct AvgPoolOptions {
  AvgPoolOptions(ExpandingArray<D> kernel_size) : kernel_size_(kernel_size), stride_(kernel_size) {}  // NOLINT
  AvgPoolOptions& stride(ExpandingArray<D> v) {
    stride_ = v;
    return *this;
  }
  AvgPoolOptions& padding(ExpandingArray<D> v) {
    padding_ = v;
    return *this;
  }
  AvgPoolOptions& ceil_mode(bool v) {
    ceil_mode_ = v;
    return *this;
  }
  AvgPoolOptions& count_include_pad(bool v) {
    count_include_pad_ = v;
    return *this;
  }
  const ExpandingArray<D>& kernel_size() const { return kernel_size_; }
  const ExpandingArray<D>& stride() const { return stride_; }
  const ExpandingArray<D>& padding() const { return padding_; }
  bool ceil_mode() const { return ceil_mode_; }
  bool count_include_pad() const { return count_include_pad_; }

 private:
  ExpandingArray<D> kernel_size_, stride_, padding_ = 0;
  bool ceil_mode_ = false, count_include_pad_ = true;
};
using AvgPool1dOptions = AvgPoolOptions<1>;
using AvgPool2dOptions = AvgPoolOptions<2>;

/// `AdaptiveAvgPool2dOptions({5, 7})`.
template <std::size_t D>
struct AdaptiveAvgPoolOptions {
  AdaptiveAvgPoolOptions(ExpandingArray<D> output_size) : output_size_(output_size) {}  // NOLINT
  AdaptiveAvgPoolOptions& output_size(ExpandingArray<D> v) {
    output_size_ = v;
    return *this;
  }
  const ExpandingArray<D>& output_size() const { return output_size_; }

 private:
  ExpandingArray<D> output_size_;
};
using AdaptiveAvgPool1dOptions = AdaptiveAvgPoolOptions<1>;
using AdaptiveAvgPool2dOptions = AdaptiveAvgPoolOptions<2>;

namespace functional {

using MaxPool1dFuncOptions = MaxPool1dOptions;
using MaxPool2dFuncOptions = MaxPool2dOptions;
using AvgPool1dFuncOptions = AvgPool1dOptions;
using AvgPool2dFuncOptions = AvgPool2dOptions;
using AdaptiveAvgPool1dFuncOptions = AdaptiveAvgPool1dOptions;
using AdaptiveAvgPool2dFuncOptions = AdaptiveAvgPool2dOptions;

Tensor max_pool1d(const Tensor& input, const MaxPool1dFuncOptions& options);
Tensor max_pool2d(const Tensor& input, const MaxPool2dFuncOptions& options);
/// The maxima and their int64 indices within each input plane.
std::tuple<Tensor, Tensor> max_pool1d_with_indices(const Tensor& input, const MaxPool1dFuncOptions& options);
std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input, const MaxPool2dFuncOptions& options);
Tensor avg_pool1d(const Tensor& input, const AvgPool1dFuncOptions& options);
Tensor avg_pool2d(const Tensor& input, const AvgPool2dFuncOptions& options);
Tensor adaptive_avg_pool1d(const Tensor& input, const AdaptiveAvgPool1dFuncOptions& options);
Tensor adaptive_avg_pool2d(const Tensor& input, const AdaptiveAvgPool2dFuncOptions& options);

}  // namespace functional

/// A pooling layer: `forward` applies its functional form with the options given at construction.
template <class Options, Tensor (*F)(const Tensor&, const Options&)>
class PoolImpl : public Module {
 public:
  PoolImpl(const Options& options, const char* name) : Module(name), options(options) {}
  Tensor forward(const Tensor& x) const { return F(x, options); }
  Options options;
};

class MaxPool1dImpl : public PoolImpl<MaxPool1dOptions, functional::max_pool1d> {
 public:
  explicit MaxPool1dImpl(const MaxPool1dOptions& o) : PoolImpl(o, "MaxPool1d") {}
};
class MaxPool2dImpl : public PoolImpl<MaxPool2dOptions, functional::max_pool2d> {
 public:
  explicit MaxPool2dImpl(const MaxPool2dOptions& o) : PoolImpl(o, "MaxPool2d") {}
};
class AvgPool1dImpl : public PoolImpl<AvgPool1dOptions, functional::avg_pool1d> {
 public:
  explicit AvgPool1dImpl(const AvgPool1dOptions& o) : PoolImpl(o, "AvgPool1d") {}
};
class AvgPool2dImpl : public PoolImpl<AvgPool2dOptions, functional::avg_pool2d> {
 public:
  explicit AvgPool2dImpl(const AvgPool2dOptions& o) : PoolImpl(o, "AvgPool2d") {}
};
class AdaptiveAvgPool1dImpl : public PoolImpl<AdaptiveAvgPool1dOptions, functional::adaptive_avg_pool1d> {
 public:
  explicit AdaptiveAvgPool1dImpl(const AdaptiveAvgPool1dOptions& o) : PoolImpl(o, "AdaptiveAvgPool1d") {}
};
class AdaptiveAvgPool2dImpl : public PoolImpl<AdaptiveAvgPool2dOptions, functional::adaptive_avg_pool2d> {
 public:
  explicit AdaptiveAvgPool2dImpl(const AdaptiveAvgPool2dOptions& o) : PoolImpl(o, "AdaptiveAvgPool2d") {}
};

class MaxPool1d : public ModuleHolder<MaxPool1dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};
class MaxPool2d : public ModuleHolder<MaxPool2dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};
class AvgPool1d : public ModuleHolder<AvgPool1dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};
class AvgPool2d : public ModuleHolder<AvgPool2dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};
class AdaptiveAvgPool1d : public ModuleHolder<AdaptiveAvgPool1dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};
class AdaptiveAvgPool2d : public ModuleHolder<AdaptiveAvgPool2dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};

}  // namespace ag::nn
