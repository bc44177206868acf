#pragma once
/// @file embedding.h
/// nn::Embedding and nn::functional::embedding (libtorch's names, options and semantics): a lookup
/// table `weight [num_embeddings, embedding_dim]` read at integer indices. Composed from tape ops
/// (index_select, and where() for padding_idx), so it is differentiable to any order.

#include <cstdint>
#include <optional>

#include "nn/module.h"

namespace ag::nn {

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
  const Tensor& _weight() const { return weight_; }
  Dtype dtype() const { return dtype_; }

 private:
  std::int64_t num_embeddings_, embedding_dim_;
  std::optional<std::int64_t> padding_idx_;
  Tensor weight_;
  Dtype dtype_ = kFloat32;
};

/// Options of Embedding::from_pretrained: `freeze` (default true: the weight does not require grad)
/// and `padding_idx`.
struct EmbeddingFromPretrainedOptions {
  EmbeddingFromPretrainedOptions& freeze(bool on) {
    freeze_ = on;
    return *this;
  }
  EmbeddingFromPretrainedOptions& padding_idx(std::optional<std::int64_t> i) {
    padding_idx_ = i;
    return *this;
  }
  bool freeze() const { return freeze_; }
  const std::optional<std::int64_t>& padding_idx() const { return padding_idx_; }

 private:
  bool freeze_ = true;
  std::optional<std::int64_t> padding_idx_;
};

namespace functional {

/// Options of functional::embedding: `EmbeddingFuncOptions().padding_idx(i)`.
struct EmbeddingFuncOptions {
  EmbeddingFuncOptions& padding_idx(std::optional<std::int64_t> i) {
    padding_idx_ = i;
    return *this;
  }
  const std::optional<std::int64_t>& padding_idx() const { return padding_idx_; }

 private:
  std::optional<std::int64_t> padding_idx_;
};

/// weight's rows at `input` (int64 or int32 indices, any shape, each in [0, num_embeddings)):
/// output shape = input shape + [embedding_dim]. grad_weight[r] = sum of g over the positions reading
/// row r, zero for the row padding_idx. An index out of range, a weight that is not 2-D floating or a
/// floating input is an ag::Error naming the index and num_embeddings; nothing is recorded.
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
}  // namespace detail

}  // namespace ag::nn
