#pragma once
/// @file mlp.h
/// nn::MLP: Linear layers of the given sizes with an activation between them (none after the last).

#include <vector>

#include "nn/sequential.h"

namespace ag::nn {

enum class Activation { ReLU, Tanh, Sigmoid, LeakyReLU, Identity };

/// `MLPOptions({64, 128, 128, 10}).activation(Activation::ReLU)`
struct MLPOptions {
  MLPOptions(std::vector<std::int64_t> sizes) : sizes_(std::move(sizes)) {}  // NOLINT: implicit
  MLPOptions& activation(Activation a) {
    act_ = a;
    return *this;
  }
  MLPOptions& bias(bool on) {
    bias_ = on;
    return *this;
  }
  MLPOptions& dtype(Dtype d) {
    dtype_ = d;
    return *this;
  }
  const std::vector<std::int64_t>& sizes() const { return sizes_; }
  Activation activation() const { return act_; }
  bool bias() const { return bias_; }
  Dtype dtype() const { return dtype_; }

 private:
  std::vector<std::int64_t> sizes_;
  Activation act_ = Activation::ReLU;
  bool bias_ = true;
  Dtype dtype_ = kFloat32;
};

class MLPImpl : public Module {
 public:
  explicit MLPImpl(const MLPOptions& options);
  Tensor forward(const Tensor& x) const { return layers->forward(x); }
  /// Linear, activation, Linear, ... registered as "layers".
  Sequential layers;
  MLPOptions options;
};

class MLP : public ModuleHolder<MLPImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};

}  // namespace ag::nn
