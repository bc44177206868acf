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

}  // namespace ag::nn
