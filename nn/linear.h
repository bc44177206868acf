#pragma once
/// @file linear.h
/// nn::Linear: y = x W^T + b, with W [out, in] and b [out] as in libtorch.

#include "nn/module.h"

namespace ag::nn {

/// Options with chainable setters: `LinearOptions(in, out).bias(false)`.
struct LinearOptions {
  LinearOptions(std::int64_t in_features, std::int64_t out_features) : in_(in_features), out_(out_features) {}
  LinearOptions& bias(bool on) {
    bias_ = on;
    return *this;
  }
  LinearOptions& dtype(Dtype d) {
    dtype_ = d;
    return *this;
  }
  std::int64_t in_features() const { return in_; }
  std::int64_t out_features() const { return out_; }
  bool bias() const { return bias_; }
  Dtype dtype() const { return dtype_; }

 private:
  std::int64_t in_, out_;
  bool bias_ = true;
  Dtype dtype_ = kFloat32;
};

/// Affine layer. Initialised as libtorch: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)).
class LinearImpl : public Module {
 public:
  LinearImpl(std::int64_t in_features, std::int64_t out_features)
      : LinearImpl(LinearOptions(in_features, out_features)) {}
  explicit LinearImpl(const LinearOptions& options);
  /// x [..., in] -> [..., out]
  Tensor forward(const Tensor& x) const;
  /// Re-draws the parameters with libtorch's default initialisation.
  void reset_parameters();
  const LinearOptions& options() const { return options_; }

  Tensor weight;
  Tensor bias;  ///< undefined when options.bias(false)

 private:
  LinearOptions options_;
};

/// Handle to a LinearImpl (`nn::Linear fc(3, 4); fc(x)` or `fc->forward(x)`).
class Linear : public ModuleHolder<LinearImpl> {
 public:
  using ModuleHolder<LinearImpl>::ModuleHolder;
};

}  // namespace ag::nn
