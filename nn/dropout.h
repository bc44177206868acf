#pragma once
/// @file dropout.h
/// nn::Dropout: in training, zeroes each element with probability p and scales the rest by
/// 1/(1-p); in eval mode, the identity. Draws from the generator seeded by ag::manual_seed.

#include "nn/module.h"

namespace ag::nn {

struct DropoutOptions {
  DropoutOptions(double p = 0.5) : p_(p) {}  // NOLINT: implicit, as libtorch's
  DropoutOptions& p(double v) {
    p_ = v;
    return *this;
  }
  double p() const { return p_; }

 private:
  double p_;
};

class DropoutImpl : public Module {
 public:
  explicit DropoutImpl(const DropoutOptions& o = {});
  Tensor forward(const Tensor& x) const;
  DropoutOptions options;
};

class Dropout : public ModuleHolder<DropoutImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  Dropout() : ModuleHolder(std::make_shared<DropoutImpl>()) {}
};

/// Functional form: dropout(x, p, training).
Tensor dropout(const Tensor& x, double p, bool training);

/// Channel-wise dropout of input [N, C, H, W] (or [N, C, L], as libtorch's feature dropout): in
/// training, each whole channel (n, c) is zeroed with probability p and the others scaled by 1/(1-p);
/// in eval mode, the identity. Another rank is an ag::Error naming the layer.
Tensor dropout2d(const Tensor& x, double p, bool training);

using Dropout2dOptions = DropoutOptions;

class Dropout2dImpl : public Module {
 public:
  explicit Dropout2dImpl(const Dropout2dOptions& o = {});
  Tensor forward(const Tensor& x) const;
  Dropout2dOptions options;
};

class Dropout2d : public ModuleHolder<Dropout2dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  Dropout2d() : ModuleHolder(std::make_shared<Dropout2dImpl>()) {}
};

namespace functional {

/// `Dropout2dFuncOptions().p(0.5).training(true)`.
struct Dropout2dFuncOptions {
  Dropout2dFuncOptions& p(double v) {
    p_ = v;
    return *this;
  }
  Dropout2dFuncOptions& training(bool on) {
    training_ = on;
    return *this;
  }
  double p() const { return p_; }
  bool training() const { return training_; }

 private:
  double p_ = 0.5;
  bool training_ = true;
};

/// nn::dropout2d(input, options.p(), options.training()).
Tensor dropout2d(const Tensor& input, const Dropout2dFuncOptions& options = {});

}  // namespace functional

}  // namespace ag::nn

namespace ag {
/// libtorch's torch::dropout(x, p, train) and torch::feature_dropout's 2-D form.
using nn::dropout;
using nn::dropout2d;
}  // namespace ag
