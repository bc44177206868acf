#pragma once
/// @file activation.h
/// Activation layers; each forwards to the op of the same name.

#include "nn/module.h"

namespace ag::nn {

class SigmoidImpl : public Module {
 public:
  SigmoidImpl() : Module("Sigmoid") {}
  Tensor forward(const Tensor& x) const { return sigmoid(x); }
};
class TanhImpl : public Module {
 public:
  TanhImpl() : Module("Tanh") {}
  Tensor forward(const Tensor& x) const { return tanh(x); }
};
class ReLUImpl : public Module {
 public:
  ReLUImpl() : Module("ReLU") {}
  Tensor forward(const Tensor& x) const { return relu(x); }
};

struct LeakyReLUOptions {
  LeakyReLUOptions& negative_slope(double s) {
    slope_ = s;
    return *this;
  }
  double negative_slope() const { return slope_; }

 private:
  double slope_ = 0.01;
};
class LeakyReLUImpl : public Module {
 public:
  explicit LeakyReLUImpl(const LeakyReLUOptions& o = {}) : Module("LeakyReLU"), options(o) {}
  Tensor forward(const Tensor& x) const { return leaky_relu(x, options.negative_slope()); }
  LeakyReLUOptions options;
};

class SoftmaxImpl : public Module {
 public:
  explicit SoftmaxImpl(std::int64_t dim) : Module("Softmax"), dim(dim) {}
  Tensor forward(const Tensor& x) const { return softmax(x, dim); }
  std::int64_t dim;
};
class LogSoftmaxImpl : public Module {
 public:
  explicit LogSoftmaxImpl(std::int64_t dim) : Module("LogSoftmax"), dim(dim) {}
  Tensor forward(const Tensor& x) const { return log_softmax(x, dim); }
  std::int64_t dim;
};

class Sigmoid : public ModuleHolder<SigmoidImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  Sigmoid() : ModuleHolder(std::make_shared<SigmoidImpl>()) {}
};
class Tanh : public ModuleHolder<TanhImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  Tanh() : ModuleHolder(std::make_shared<TanhImpl>()) {}
};
class ReLU : public ModuleHolder<ReLUImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  ReLU() : ModuleHolder(std::make_shared<ReLUImpl>()) {}
};
class LeakyReLU : public ModuleHolder<LeakyReLUImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  LeakyReLU() : ModuleHolder(std::make_shared<LeakyReLUImpl>()) {}
};
class Softmax : public ModuleHolder<SoftmaxImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};
class LogSoftmax : public ModuleHolder<LogSoftmaxImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};

}  // namespace ag::nn
