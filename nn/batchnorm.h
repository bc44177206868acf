#pragma once
/// @file batchnorm.h
/// nn::BatchNorm1d / 2d / 3d and nn::functional::batch_norm (libtorch's names, options and semantics).
///
/// In training (or with track_running_stats(false)) an input [N, C, *] is normalised per channel with
/// the batch's mean and biased variance over N and *: y = (x - mean) * rsqrt(var + eps) * weight + bias,
/// composed from tape ops so that the statistics are differentiated too. The running statistics are
/// then updated without recording: running_mean = (1 - momentum) running_mean + momentum mean, and the
/// same for running_var with the UNBIASED variance (n / (n - 1) times the biased one); with momentum
/// nullopt the factor is 1 / num_batches_tracked (a cumulative average). In eval mode the running
/// statistics normalise instead. The buffers running_mean, running_var (float, [C]) and
/// num_batches_tracked (int64, 0-d) are registered as in libtorch and saved by nn::save.

#include <cstdint>
#include <optional>

#include "nn/module.h"

namespace ag::nn {

/// `BatchNormOptions(num_features).eps(1e-5).momentum(0.1).affine(true).track_running_stats(true)`.
struct BatchNormOptions {
  BatchNormOptions(std::int64_t num_features) : features_(num_features) {}  // NOLINT: implicit, as libtorch's
  BatchNormOptions& eps(double v) {
    eps_ = v;
    return *this;
  }
  /// The running statistics' update factor; nullopt: a cumulative average (1 / num_batches_tracked).
  BatchNormOptions& momentum(std::optional<double> v) {
    momentum_ = v;
    return *this;
  }
  /// A learnable per-channel weight (ones) and bias (zeros).
  BatchNormOptions& affine(bool on) {
    affine_ = on;
    return *this;
  }
  /// Keep running statistics (and use them in eval mode); without, batch statistics are always used.
  BatchNormOptions& track_running_stats(bool on) {
    track_ = on;
    return *this;
  }
  BatchNormOptions& dtype(Dtype d) {
    dtype_ = d;
    return *this;
  }
  std::int64_t num_features() const { return features_; }
  double eps() const { return eps_; }
  const std::optional<double>& momentum() const { return momentum_; }
  bool affine() const { return affine_; }
  bool track_running_stats() const { return track_; }
  Dtype dtype() const { return dtype_; }

 private:
  std::int64_t features_;
  double eps_ = 1e-5;
  std::optional<double> momentum_ = 0.1;
  bool affine_ = true;
  bool track_ = true;
  Dtype dtype_ = kFloat32;
};

namespace functional {

/// `BatchNormFuncOptions().weight(w).bias(b).training(false).momentum(0.1).eps(1e-5)`.
struct BatchNormFuncOptions {
  BatchNormFuncOptions& weight(const Tensor& t) {
    weight_ = t;
    return *this;
  }
  BatchNormFuncOptions& bias(const Tensor& t) {
    bias_ = t;
    return *this;
  }
  BatchNormFuncOptions& training(bool on) {
    training_ = on;
    return *this;
  }
  BatchNormFuncOptions& momentum(std::optional<double> v) {
    momentum_ = v;
    return *this;
  }
  BatchNormFuncOptions& eps(double v) {
    eps_ = v;
    return *this;
  }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  bool training() const { return training_; }
  const std::optional<double>& momentum() const { return momentum_; }
  double eps() const { return eps_; }

 private:
  Tensor weight_, bias_;
  bool training_ = false;
  std::optional<double> momentum_ = 0.1;
  double eps_ = 1e-5;
};

/// Batch normalisation of input [N, C, *] (see the file comment). With training, batch statistics
/// normalise and running_mean / running_var ([C], or undefined) are updated in place (not recorded)
/// with `momentum`; without, the running statistics (which must be defined) normalise. Training with one
/// value per channel (N * prod(*) == 1) is an ag::Error, as are shape or dtype mismatches.
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const BatchNormFuncOptions& options = {});

}  // namespace functional

using functional::batch_norm;

/// The shared implementation of BatchNorm1d / 2d / 3d, which differ only in the input ranks they take.
class BatchNormImplBase : public Module {
 public:
  /// input [N, C, *] -> the same shape (see the file comment).
  Tensor forward(const Tensor& input);
  /// weight to ones, bias to zeros, and reset_running_stats().
  void reset_parameters();
  /// running_mean to zeros, running_var to ones, num_batches_tracked to 0.
  void reset_running_stats();

  BatchNormOptions options;
  Tensor weight;               ///< [C]; undefined without affine
  Tensor bias;                 ///< [C]; undefined without affine
  Tensor running_mean;         ///< [C]; undefined without track_running_stats
  Tensor running_var;          ///< [C]; undefined without track_running_stats
  Tensor num_batches_tracked;  ///< int64 0-d; undefined without track_running_stats

 protected:
  BatchNormImplBase(const BatchNormOptions& options, const char* name, std::int64_t min_rank, std::int64_t max_rank);

 private:
  std::int64_t min_rank_, max_rank_;
};

/// Over [N, C] or [N, C, L].
class BatchNorm1dImpl : public BatchNormImplBase {
 public:
  explicit BatchNorm1dImpl(const BatchNormOptions& options) : BatchNormImplBase(options, "BatchNorm1d", 2, 3) {}
};
/// Over [N, C, H, W].
class BatchNorm2dImpl : public BatchNormImplBase {
 public:
  explicit BatchNorm2dImpl(const BatchNormOptions& options) : BatchNormImplBase(options, "BatchNorm2d", 4, 4) {}
};
/// Over [N, C, D, H, W].
class BatchNorm3dImpl : public BatchNormImplBase {
 public:
  explicit BatchNorm3dImpl(const BatchNormOptions& options) : BatchNormImplBase(options, "BatchNorm3d", 5, 5) {}
};

class BatchNorm1d : public ModuleHolder<BatchNorm1dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};
class BatchNorm2d : public ModuleHolder<BatchNorm2dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};
class BatchNorm3d : public ModuleHolder<BatchNorm3dImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};

}  // namespace ag::nn
