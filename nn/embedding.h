#pragma once
/// @file embedding.h
/// nn::Embedding and nn::functional::embedding (libtorch's names, options and semantics): a lookup
/// table `weight [num_embeddings, embedding_dim]` read at integer indices. Composed from tape ops
/// (index_select, and where() for padding_idx), so it is differentiable to any order.
///
/// The options, as libtorch's (in EmbeddingOptions, EmbeddingFromPretrainedOptions and
/// functional::EmbeddingFuncOptions):
///  - padding_idx: that row's output is read as usual but its gradient is always zero;
///  - max_norm, norm_type (default 2): before each lookup, every row the input refers to whose
///    norm_type-norm exceeds max_norm is rescaled in place to norm max_norm (times
///    max_norm / (norm + 1e-7)), under no-grad, as torch.embedding_renorm_: the weight changes;
///  - scale_grad_by_freq: each row's gradient is divided by the number of times the input refers to
///    it (its frequency in the mini-batch);
///  - sparse: sparse gradients need sparse tensors, which this library does not have: sparse(true)
///    throws ag::Error.

#include <cstdint>
#include <optional>

#include "nn/module.h"

namespace ag::nn {

namespace detail {
/// ag::Error when `sparse` is true (no sparse tensors); `who` names the options class.
void check_not_sparse(bool sparse, const char* who);
}  // namespace detail

/// `EmbeddingOptions(num_embeddings, embedding_dim).padding_idx(i)`.
struct EmbeddingOptions {
  EmbeddingOptions(std::int64_t num_embeddings, std::int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  /// Row whose output is read as usual but whose gradient is always zero; initialised to zeros.
  /// A negative index counts from the end (as libtorch, it is stored normalised).
  EmbeddingOptions& padding_idx(std::optional<std::int64_t> i) {
    padding_idx_ = i;
    return *this;
  }
  /// Before each lookup, rescales (in place, under no-grad) every referenced row whose norm exceeds this.
  EmbeddingOptions& max_norm(std::optional<double> v) {
    max_norm_ = v;
    return *this;
  }
  /// The p of the p-norm of max_norm (default 2; any p > 0, or infinity).
  EmbeddingOptions& norm_type(double p) {
    norm_type_ = p;
    return *this;
  }
  /// Divides each row's gradient by the number of times the mini-batch refers to it (default false).
  EmbeddingOptions& scale_grad_by_freq(bool on) {
    scale_grad_by_freq_ = on;
    return *this;
  }
  /// Sparse gradients are not supported (no sparse tensors): sparse(true) throws ag::Error.
  EmbeddingOptions& sparse(bool on) {
    detail::check_not_sparse(on, "EmbeddingOptions");
    return *this;
  }
  /// The weight to use instead of a random one ([num_embeddings, embedding_dim]), as libtorch's _weight.
  EmbeddingOptions& _weight(const Tensor& w) {
    weight_ = w;
    return *this;
  }
  /// dtype of a randomly initialised weight (float32 by default).
  EmbeddingOptions& dtype(Dtype d) {
    dtype_ = d;
    return *this;
  }
  std::int64_t num_embeddings() const { return num_embeddings_; }
  std::int64_t embedding_dim() const { return embedding_dim_; }
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
  std::optional<std::int64_t> padding_idx_;
  std::optional<double> max_norm_;
  double norm_type_ = 2.0;
  bool scale_grad_by_freq_ = false;
  Tensor weight_;
  Dtype dtype_ = kFloat32;
};

/// Options of Embedding::from_pretrained: `freeze` (default true: the weight does not require grad),
/// `padding_idx`, `max_norm`, `norm_type`, `scale_grad_by_freq` and `sparse` (as EmbeddingOptions).
struct EmbeddingFromPretrainedOptions {
  EmbeddingFromPretrainedOptions& freeze(bool on) {
    freeze_ = on;
    return *this;
  }
  EmbeddingFromPretrainedOptions& padding_idx(std::optional<std::int64_t> i) {
    padding_idx_ = i;
    return *this;
  }
  /// Before each lookup, rescales (in place, under no-grad) every referenced row whose norm exceeds this.
  EmbeddingFromPretrainedOptions& max_norm(std::optional<double> v) {
    max_norm_ = v;
    return *this;
  }
  /// The p of the p-norm of max_norm (default 2; any p > 0, or infinity).
  EmbeddingFromPretrainedOptions& norm_type(double p) {
    norm_type_ = p;
    return *this;
  }
  /// Divides each row's gradient by the number of times the mini-batch refers to it (default false).
  EmbeddingFromPretrainedOptions& scale_grad_by_freq(bool on) {
    scale_grad_by_freq_ = on;
    return *this;
  }
  /// Sparse gradients are not supported (no sparse tensors): sparse(true) throws ag::Error.
  EmbeddingFromPretrainedOptions& sparse(bool on) {
    detail::check_not_sparse(on, "EmbeddingFromPretrainedOptions");
    return *this;
  }
  bool freeze() const { return freeze_; }
  const std::optional<std::int64_t>& padding_idx() const { return padding_idx_; }
  const std::optional<double>& max_norm() const { return max_norm_; }
  double norm_type() const { return norm_type_; }
  bool scale_grad_by_freq() const { return scale_grad_by_freq_; }
  /// Always false.
  bool sparse() const { return false; }

 private:
  bool freeze_ = true;
  std::optional<std::int64_t> padding_idx_;
  std::optional<double> max_norm_;
  double norm_type_ = 2.0;
  bool scale_grad_by_freq_ = false;
};

namespace functional {

/// Options of functional::embedding: `EmbeddingFuncOptions().padding_idx(i).max_norm(1.0)`.
struct EmbeddingFuncOptions {
  EmbeddingFuncOptions& padding_idx(std::optional<std::int64_t> i) {
    padding_idx_ = i;
    return *this;
  }
  /// Before each lookup, rescales (in place, under no-grad) every referenced row whose norm exceeds this.
  EmbeddingFuncOptions& max_norm(std::optional<double> v) {
    max_norm_ = v;
    return *this;
  }
  /// The p of the p-norm of max_norm (default 2; any p > 0, or infinity).
  EmbeddingFuncOptions& norm_type(double p) {
    norm_type_ = p;
    return *this;
  }
  /// Divides each row's gradient by the number of times the mini-batch refers to it (default false).
  EmbeddingFuncOptions& scale_grad_by_freq(bool on) {
    scale_grad_by_freq_ = on;
    return *this;
  }
  /// Sparse gradients are not supported (no sparse tensors): sparse(true) throws ag::Error.
  EmbeddingFuncOptions& sparse(bool on) {
    detail::check_not_sparse(on, "EmbeddingFuncOptions");
    return *this;
  }
  const std::optional<std::int64_t>& padding_idx() const { return padding_idx_; }
  const std::optional<double>& max_norm() const { return max_norm_; }
  double norm_type() const { return norm_type_; }
  bool scale_grad_by_freq() const { return scale_grad_by_freq_; }
  /// Always false.
  bool sparse() const { return false; }

 private:
  std::optional<std::int64_t> padding_idx_;
  std::optional<double> max_norm_;
  double norm_type_ = 2.0;
  bool scale_grad_by_freq_ = false;
};

/// weight's rows at `input` (int64 or int32 indices, any shape, each in [0, num_embeddings)):
/// output shape = input shape + [embedding_dim]. grad_weight[r] = sum of g over the positions reading
/// row r (divided by their count with scale_grad_by_freq), zero for the row padding_idx. With
/// max_norm the rows read are first renormalised in place (see the file's comment). An index out of
/// range, a weight that is not 2-D floating, a floating input or a norm_type <= 0 is an ag::Error
/// naming the index and num_embeddings; nothing is recorded and the weight is unchanged.
Tensor embedding(const Tensor& input, const Tensor& weight, const EmbeddingFuncOptions& options = {});

}  // namespace functional

using functional::embedding;

/// Lookup table initialised from N(0, 1) (padding row zero), as libtorch.
class EmbeddingImpl : public Module {
 public:
  EmbeddingImpl(std::int64_t num_embeddings, std::int64_t embedding_dim)
      : EmbeddingImpl(EmbeddingOptions(num_embeddings, embedding_dim)) {}
  explicit EmbeddingImpl(EmbeddingOptions options);
  /// input (int64 / int32, any shape) -> input shape + [embedding_dim].
  Tensor forward(const Tensor& input) const;
  /// Re-draws the weight from N(0, 1) and zeroes the padding row.
  void reset_parameters();

  EmbeddingOptions options;
  Tensor weight;  ///< [num_embeddings, embedding_dim]
};

/// Handle to an EmbeddingImpl (`nn::Embedding emb(1000, 64); emb(tokens)`).
class Embedding : public ModuleHolder<EmbeddingImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// An embedding holding a copy of `embeddings` [num, dim] (as libtorch; freeze: no gradient).
  static Embedding from_pretrained(const Tensor& embeddings, const EmbeddingFromPretrainedOptions& options = {});
};

namespace detail {
/// Checks indices for an embedding layer (`who` names it): int64 or int32, every value in
/// [0, num_embeddings). Returns them as int64 (the input itself when already int64).
Tensor checked_embedding_indices(const Tensor& input, std::int64_t num_embeddings, const char* who);
/// padding_idx normalised into [0, num_embeddings) (a negative one counts from the end), or an error.
std::optional<std::int64_t> normalized_padding_idx(std::optional<std::int64_t> padding_idx, std::int64_t num_embeddings,
                                                   const char* who);
/// ag::Error unless norm_type > 0 (or infinity) when max_norm is set.
void check_norm_type(const std::optional<double>& max_norm, double norm_type, const char* who);
/// torch.embedding_renorm_: under no-grad, in place, every distinct row of `weight` that the int64
/// indices `flat` (checked) refer to whose norm_type-norm exceeds max_norm is multiplied by
/// max_norm / (norm + 1e-7).
void embedding_renorm_(const Tensor& weight, const Tensor& flat, double max_norm, double norm_type);
/// `rows` [n, dim] (weight's rows at the int64 indices `flat` [n]) with the same values, but each
/// position's gradient divided by the number of times `flat` holds its index; the derivative of that
/// gradient with respect to the incoming one is the identity, as PyTorch's embedding double backward.
Tensor scale_grad_by_freq(const Tensor& rows, const Tensor& flat);
}  // namespace detail

}  // namespace ag::nn
