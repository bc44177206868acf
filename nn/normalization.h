#pragma once
/// @file normalization.h
/// nn::LayerNorm and nn::GroupNorm with their functional forms (libtorch's names, options and
/// semantics). Composed from tape ops: (x - mean) * rsqrt(biased var + eps) * weight + bias, so they
/// are differentiable to any order. BatchNorm is in batchnorm.h.

#include <cstdint>
#include <vector>

#include "nn/module.h"

namespace ag::nn {

/// `LayerNormOptions({d}).elementwise_affine(true).eps(1e-5)`: normalise over the last dims, whose
/// sizes are normalized_shape.
struct LayerNormOptions {
  LayerNormOptions(std::vector<std::int64_t> normalized_shape) : shape_(std::move(normalized_shape)) {}  // NOLINT
  LayerNormOptions& eps(double v) {
    eps_ = v;
    return *this;
  }
  /// A learnable weight (ones) and bias (zeros) of normalized_shape.
  LayerNormOptions& elementwise_affine(bool on) {
    affine_ = on;
    return *this;
  }
  LayerNormOptions& dtype(Dtype d) {
    dtype_ = d;
    return *this;
  }
  const std::vector<std::int64_t>& normalized_shape() const { return shape_; }
  double eps() const { return eps_; }
  bool elementwise_affine() const { return affine_; }
  Dtype dtype() const { return dtype_; }

 private:
  std::vector<std::int64_t> shape_;
  double eps_ = 1e-5;
  bool affine_ = true;
  Dtype dtype_ = kFloat32;
};

/// `GroupNormOptions(num_groups, num_channels).eps(1e-5).affine(true)`.
struct GroupNormOptions {
  GroupNormOptions(std::int64_t num_groups, std::int64_t num_channels) : groups_(num_groups), channels_(num_channels) {}
  GroupNormOptions& eps(double v) {
    eps_ = v;
    return *this;
  }
  /// A learnable per-channel weight (ones) and bias (zeros).
  GroupNormOptions& affine(bool on) {
    affine_ = on;
    return *this;
  }
  GroupNormOptions& dtype(Dtype d) {
    dtype_ = d;
    return *this;
  }
  std::int64_t num_groups() const { return groups_; }
  std::int64_t num_channels() const { return channels_; }
  double eps() const { return eps_; }
  bool affine() const { return affine_; }
  Dtype dtype() const { return dtype_; }

 private:
  std::int64_t groups_, channels_;
  double eps_ = 1e-5;
  bool affine_ = true;
  Dtype dtype_ = kFloat32;
};

namespace functional {

/// `LayerNormFuncOptions({d}).weight(w).bias(b).eps(1e-5)`.
struct LayerNormFuncOptions {
  LayerNormFuncOptions(std::vector<std::int64_t> normalized_shape) : shape_(std::move(normalized_shape)) {}  // NOLINT
  LayerNormFuncOptions& weight(const Tensor& t) {
    weight_ = t;
    return *this;
  }
  LayerNormFuncOptions& bias(const Tensor& t) {
    bias_ = t;
    return *this;
  }
  LayerNormFuncOptions& eps(double v) {
    eps_ = v;
    return *this;
  }
  const std::vector<std::int64_t>& normalized_shape() const { return shape_; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  double eps() const { return eps_; }

 private:
  std::vector<std::int64_t> shape_;
  Tensor weight_, bias_;
  double eps_ = 1e-5;
};

/// `GroupNormFuncOptions(num_groups).weight(w).bias(b).eps(1e-5)`.
struct GroupNormFuncOptions {
  GroupNormFuncOptions(std::int64_t num_groups) : groups_(num_groups) {}  // NOLINT
  GroupNormFuncOptions& weight(const Tensor& t) {
    weight_ = t;
    return *this;
  }
  GroupNormFuncOptions& bias(const Tensor& t) {
    bias_ = t;
    return *this;
  }
  GroupNormFuncOptions& eps(double v) {
    eps_ = v;
    return *this;
  }
  std::int64_t num_groups() const { return groups_; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  double eps() const { return eps_; }

 private:
  std::int64_t groups_;
  Tensor weight_, bias_;
  double eps_ = 1e-5;
};

/// Normalises over the last normalized_shape.size() dims of input (whose sizes must equal
/// normalized_shape), with the biased variance, then * weight + bias (each of normalized_shape, or
/// undefined).
Tensor layer_norm(const Tensor& input, const LayerNormFuncOptions& options);
/// input [N, C, *] (C divisible by num_groups): normalises each sample's group of C / num_groups
/// channels (and all their positions), then * weight[c] + bias[c] (each [C], or undefined).
Tensor group_norm(const Tensor& input, const GroupNormFuncOptions& options);

}  // namespace functional

using functional::group_norm;
using functional::layer_norm;

/// Layer normalisation (Ba et al. 2016), as libtorch's.
class LayerNormImpl : public Module {
 public:
  LayerNormImpl(std::vector<std::int64_t> normalized_shape)
      : LayerNormImpl(LayerNormOptions(std::move(normalized_shape))) {}
  explicit LayerNormImpl(const LayerNormOptions& options);
  /// input [*, normalized_shape...] -> the same shape.
  Tensor forward(const Tensor& input) const;
  /// weight to ones, bias to zeros.
  void reset_parameters();

  LayerNormOptions options;
  Tensor weight;  ///< normalized_shape; undefined without elementwise_affine
  Tensor bias;    ///< normalized_shape; undefined without elementwise_affine
};

class LayerNorm : public ModuleHolder<LayerNormImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};

/// Group normalisation (Wu and He 2018), as libtorch's.
class GroupNormImpl : public Module {
 public:
  GroupNormImpl(std::int64_t num_groups, std::int64_t num_channels)
      : GroupNormImpl(GroupNormOptions(num_groups, num_channels)) {}
  explicit GroupNormImpl(const GroupNormOptions& options);
  /// input [N, C, *] -> the same shape.
  Tensor forward(const Tensor& input) const;
  void reset_parameters();

  GroupNormOptions options;
  Tensor weight;  ///< [C]; undefined without affine
  Tensor bias;    ///< [C]; undefined without affine
};

class GroupNorm : public ModuleHolder<GroupNormImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};

namespace detail {
/// The shared pieces of the normalisation layers (here and in batchnorm.h), `who` naming the layer.
void check_norm_input(const Tensor& input, const char* who);
/// An undefined t, or one of `shape` and input's dtype; else an ag::Error naming `what`.
void check_affine(const Tensor& t, const char* what, const Shape& shape, const Tensor& input, const char* who);
/// (x - mean) * rsqrt(biased var + eps) over each row of x read as [rows, -1] (a layer's trailing dims),
/// in x's shape.
Tensor standardize_rows(const Tensor& x, std::int64_t rows, double eps);
/// y * weight + bias with weight and bias [C] (or undefined) along y's dim 1.
Tensor channel_affine(Tensor y, const Tensor& weight, const Tensor& bias);
}  // namespace detail

}  // namespace ag::nn
