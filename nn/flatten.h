#pragma once
/// @file flatten.h
/// Shape layers, as libtorch's: nn::Identity, nn::Flatten (start_dim 1, end_dim -1) and nn::Unflatten
/// (one dim into several). Views of their input where the strides allow (see Note: views in tensor.h).

#include <cstdint>
#include <vector>

#include "nn/module.h"

namespace ag::nn {

/// Returns its input (a placeholder in a Sequential).
class IdentityImpl : public Module {
 public:
  IdentityImpl() : Module("Identity") {}
  Tensor forward(const Tensor& input) const { return input; }
};

class Identity : public ModuleHolder<IdentityImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  Identity() : ModuleHolder(std::make_shared<IdentityImpl>()) {}
};

/// `FlattenOptions().start_dim(1).end_dim(-1)`.
struct FlattenOptions {
  FlattenOptions& start_dim(std::int64_t d) {
    start_ = d;
    return *this;
  }
  FlattenOptions& end_dim(std::int64_t d) {
    end_ = d;
    return *this;
  }
  std::int64_t start_dim() const { return start_; }
  std::int64_t end_dim() const { return end_; }

 private:
  std::int64_t start_ = 1, end_ = -1;
};

/// Merges dims start_dim..end_dim (negative ones count from the end) into one: [N, C, H, W] -> [N, C*H*W].
class FlattenImpl : public Module {
 public:
  explicit FlattenImpl(const FlattenOptions& options = {}) : Module("Flatten"), options(options) {}
  Tensor forward(const Tensor& input) const;
  FlattenOptions options;
};

class Flatten : public ModuleHolder<FlattenImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  Flatten() : ModuleHolder(std::make_shared<FlattenImpl>()) {}
};

/// `UnflattenOptions(dim, sizes)`: dim becomes `sizes` (one of them may be -1, inferred).
struct UnflattenOptions {
  UnflattenOptions(std::int64_t dim, std::vector<std::int64_t> sizes) : dim_(dim), sizes_(std::move(sizes)) {}
  UnflattenOptions& dim(std::int64_t d) {
    dim_ = d;
    return *this;
  }
  UnflattenOptions& sizes(std::vector<std::int64_t> s) {
    sizes_ = std::move(s);
    return *this;
  }
  std::int64_t dim() const { return dim_; }
  const std::vector<std::int64_t>& sizes() const { return sizes_; }

 private:
  std::int64_t dim_;
  std::vector<std::int64_t> sizes_;
};

/// Splits one dim into several: Unflatten(1, {2, 3}) takes [N, 6, *] to [N, 2, 3, *]. The sizes'
/// product must equal the dim's size (an ag::Error naming the layer and both shapes otherwise).
class UnflattenImpl : public Module {
 public:
  UnflattenImpl(std::int64_t dim, std::vector<std::int64_t> sizes)
      : UnflattenImpl(UnflattenOptions(dim, std::move(sizes))) {}
  explicit UnflattenImpl(const UnflattenOptions& options) : Module("Unflatten"), options(options) {}
  Tensor forward(const Tensor& input) const;
  UnflattenOptions options;
};

class Unflatten : public ModuleHolder<UnflattenImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};

}  // namespace ag::nn
