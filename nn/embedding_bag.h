#pragma once
/// @file embedding_bag.h
/// nn::EmbeddingBag and nn::functional::embedding_bag (libtorch's names, options and semantics): the
/// sum, mean or max of embedding rows over each bag of indices, without materialising the per-index
/// embeddings as a user-visible tensor. Composed from tape ops (index_select, sum/amax), so it is
/// differentiable to any order.

#include <cstdint>
#include <optional>

#include "nn/embedding.h"

namespace ag::nn {

/// How a bag is reduced (libtorch's kSum, kMean, kMax).
enum class EmbeddingBagMode { Sum, Mean, Max };

/// `EmbeddingBagOptions(num_embeddings, embedding_dim).mode(EmbeddingBagMode::Sum)`.
struct EmbeddingBagOptions {
  EmbeddingBagOptions(std::int64_t num_embeddings, std::int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  /// Mean by default, as libtorch.
  EmbeddingBagOptions& mode(EmbeddingBagMode m) {
    mode_ = m;
    return *this;
  }
  /// offsets has one more entry than there are bags, the last one ending the last bag.
  EmbeddingBagOptions& include_last_offset(bool on) {
    include_last_offset_ = on;
    return *this;
  }
  /// Indices equal to padding_idx are left out of their bag (and of a mean's count); its row is zeroed
  /// at initialisation.
  EmbeddingBagOptions& padding_idx(std::optional<std::int64_t> i) {
    padding_idx_ = i;
    return *this;
  }
  /// Before each lookup, rescales (in place, under no-grad) every referenced row whose norm exceeds
  /// this, as Embedding's max_norm.
  EmbeddingBagOptions& max_norm(std::optional<double> v) {
    max_norm_ = v;
    return *this;
  }
  /// The p of the p-norm of max_norm (default 2).
  EmbeddingBagOptions& norm_type(double p) {
    norm_type_ = p;
    return *this;
  }
  /// Modes sum and mean: divides each row's gradient by the number of times the input refers to it
  /// (default false; with mode max an ag::Error, as PyTorch).
  EmbeddingBagOptions& scale_grad_by_freq(bool on) {
    scale_grad_by_freq_ = on;
    return *this;
  }
  /// Sparse gradients are not supported (no sparse tensors): sparse(true) throws ag::Error.
  EmbeddingBagOptions& sparse(bool on) {
    detail::check_not_sparse(on, "EmbeddingBagOptions");
    return *this;
  }
  EmbeddingBagOptions& _weight(const Tensor& w) {
    weight_ = w;
    return *this;
  }
  EmbeddingBagOptions& dtype(Dtype d) {
    dtype_ = d;
    return *this;
  }
  std::int64_t num_embeddings() const { return num_embeddings_; }
  std::int64_t embedding_dim() const { return embedding_dim_; }
  EmbeddingBagMode mode() const { return mode_; }
  bool include_last_offset() const { return include_last_offset_; }
  const std::optional<std::int64_t>& padding_idx() const { return padding_idx_; }
  const std::optional<double>& max_norm() const { return max_norm_; }
  double norm_type() const { return norm_type_; }
  bool scale_grad_by_freq() const { return scale_grad_by_freq_; }
  /// Always false.
  bool sparse() const { return false; }
  const Tensor& _weight() const { return weight_; }
  Dtype dtype() const { return dtype_; }

 private:
  std::int64_t num_embeddings_, embedding_dim_;
  EmbeddingBagMode mode_ = EmbeddingBagMode::Mean;
  bool include_last_offset_ = false;
  std::optional<std::int64_t> padding_idx_;
  std::optional<double> max_norm_;
  double norm_type_ = 2.0;
  bool scale_grad_by_freq_ = false;
  Tensor weight_;
  Dtype dtype_ = kFloat32;
};

namespace functional {

/// Options of functional::embedding_bag: offsets, per_sample_weights, mode (Mean), include_last_offset,
/// padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse.
struct EmbeddingBagFuncOptions {
  EmbeddingBagFuncOptions& offsets(const Tensor& t) {
    offsets_ = t;
    return *this;
  }
  EmbeddingBagFuncOptions& per_sample_weights(const Tensor& t) {
    per_sample_weights_ = t;
    return *this;
  }
  EmbeddingBagFuncOptions& mode(EmbeddingBagMode m) {
    mode_ = m;
    return *this;
  }
  EmbeddingBagFuncOptions& include_last_offset(bool on) {
    include_last_offset_ = on;
    return *this;
  }
  EmbeddingBagFuncOptions& padding_idx(std::optional<std::int64_t> i) {
    padding_idx_ = i;
    return *this;
  }
  /// Before each lookup, rescales (in place, under no-grad) every referenced row whose norm exceeds
  /// this, as Embedding's max_norm.
  EmbeddingBagFuncOptions& max_norm(std::optional<double> v) {
    max_norm_ = v;
    return *this;
  }
  /// The p of the p-norm of max_norm (default 2).
  EmbeddingBagFuncOptions& norm_type(double p) {
    norm_type_ = p;
    return *this;
  }
  /// Modes sum and mean: divides each row's gradient by the number of times the input refers to it
  /// (default false; with mode max an ag::Error, as PyTorch).
  EmbeddingBagFuncOptions& scale_grad_by_freq(bool on) {
    scale_grad_by_freq_ = on;
    return *this;
  }
  /// Sparse gradients are not supported (no sparse tensors): sparse(true) throws ag::Error.
  EmbeddingBagFuncOptions& sparse(bool on) {
    detail::check_not_sparse(on, "EmbeddingBagFuncOptions");
    return *this;
  }
  const Tensor& offsets() const { return offsets_; }
  const Tensor& per_sample_weights() const { return per_sample_weights_; }
  EmbeddingBagMode mode() const { return mode_; }
  bool include_last_offset() const { return include_last_offset_; }
  const std::optional<std::int64_t>& padding_idx() const { return padding_idx_; }
  const std::optional<double>& max_norm() const { return max_norm_; }
  double norm_type() const { return norm_type_; }
  bool scale_grad_by_freq() const { return scale_grad_by_freq_; }
  /// Always false.
  bool sparse() const { return false; }

 private:
  Tensor offsets_, per_sample_weights_;
  EmbeddingBagMode mode_ = EmbeddingBagMode::Mean;
  bool include_last_offset_ = false;
  std::optional<std::int64_t> padding_idx_;
  std::optional<double> max_norm_;
  double norm_type_ = 2.0;
  bool scale_grad_by_freq_ = false;
};

/// Bags of indices reduced to one row each: input 2-D [B, N] (each row a bag; no offsets), or 1-D [n]
/// with offsets [B] (bag b = input[offsets[b] : offsets[b+1]], the last one to the end; offsets[0] = 0,
/// non-decreasing) -> [B, embedding_dim]. Sum, mean (over the bag's non-padding entries) or max (its
/// gradient to the maximal entry); an empty bag gives zeros. per_sample_weights (input's shape, weight's
/// dtype) scale each row before a Sum. max_norm, norm_type and scale_grad_by_freq as functional::embedding's
/// (scale_grad_by_freq counts over the whole input, each row its own count; PyTorch 1.13's
/// embedding_bag divides by another row's count when a smaller index repeats, a bug not copied here;
/// with mode max it is an ag::Error, as PyTorch). Errors as functional::embedding, plus bad offsets.
Tensor embedding_bag(const Tensor& input, const Tensor& weight, const EmbeddingBagFuncOptions& options = {});

}  // namespace functional

using functional::embedding_bag;

/// Bags of embeddings (weight initialised from N(0, 1), padding row zero), as libtorch.
class EmbeddingBagImpl : public Module {
 public:
  EmbeddingBagImpl(std::int64_t num_embeddings, std::int64_t embedding_dim)
      : EmbeddingBagImpl(EmbeddingBagOptions(num_embeddings, embedding_dim)) {}
  explicit EmbeddingBagImpl(EmbeddingBagOptions options);
  /// See functional::embedding_bag.
  Tensor forward(const Tensor& input, const Tensor& offsets = {}, const Tensor& per_sample_weights = {}) const;
  void reset_parameters();

  EmbeddingBagOptions options;
  Tensor weight;  ///< [num_embeddings, embedding_dim]
};

class EmbeddingBag : public ModuleHolder<EmbeddingBagImpl> {
 public:
  using ModuleHolder::ModuleHolder;
};

}  // namespace ag::nn
