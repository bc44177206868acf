#include "nn/embedding.h"

#include "nn/init.h"

namespace ag::nn {

namespace detail {

Tensor checked_embedding_indices(const Tensor& input, std::int64_t num_embeddings, const char* who) {
  if (!input.defined()) fail("{}: the input indices are undefined", who);
  if (input.dtype() != kInt64 && input.dtype() != kInt32)
    fail("{}: expected int64 (or int32) indices, got {}", who, describe(input));
  Tensor idx = input.dtype() == kInt64 ? input : to(input, kInt64);
  const std::int64_t* v = idx.cdata<std::int64_t>();
  for (std::int64_t k = 0, n = idx.numel(); k < n; ++k)
    if (v[k] < 0 || v[k] >= num_embeddings)
      fail("{}: index {} out of range for num_embeddings {} (at position {} of the input {})", who, v[k],
           num_embeddings, k, describe(input));
  return idx;
}

std::optional<std::int64_t> normalized_padding_idx(std::optional<std::int64_t> padding_idx, std::int64_t num_embeddings,
                                                   const char* who) {
  if (!padding_idx) return std::nullopt;
  const std::int64_t p = *padding_idx;
  if (p >= num_embeddings || p < -num_embeddings)
    fail("{}: padding_idx {} must be within num_embeddings {} (in [-{}, {}))", who, p, num_embeddings, num_embeddings,
         num_embeddings);
  return p < 0 ? p + num_embeddings : p;
}

}  // namespace detail

namespace {

void check_weight(const Tensor& weight, const char* who) {
  if (!weight.defined() || weight.dim() != 2 || !is_floating(weight.dtype()))
    fail("{}: expected a floating weight [num_embeddings, embedding_dim], got {}", who,
         weight.defined() ? describe(weight) : std::string("an undefined tensor"));
}

// Every check comes before the first op, so an error records nothing.
Tensor lookup(const Tensor& input, const Tensor& weight, std::optional<std::int64_t> padding_idx, const char* who) {
  check_weight(weight, who);
  const std::int64_t num = weight.size(0);
  const auto pad = detail::normalized_padding_idx(padding_idx, num, who);
  const Tensor idx = detail::checked_embedding_indices(input, num, who);
  const std::int64_t n = idx.numel();
  const Tensor flat = reshape(idx, {n});
  Tensor rows = index_select(weight, 0, flat);  // [n, dim]
  if (pad && weight.requires_grad() && GradMode::is_enabled()) {
    // The padding row is read as it is, but passes no gradient: where() takes it from a detached copy.
    const std::int64_t* v = flat.cdata<std::int64_t>();
    std::vector<double> hit(static_cast<std::size_t>(n));
    bool any = false;
    for (std::int64_t k = 0; k < n; ++k) any |= (hit[static_cast<std::size_t>(k)] = v[k] == *pad ? 1.0 : 0.0) != 0;
    if (any) rows = where(tensor(hit, {n, 1}, weight.dtype()), rows.detach(), rows);
  }
  Shape out = idx.shape();
  out.push_back(weight.size(1));
  return reshape(rows, out);
}

}  // namespace

namespace functional {

Tensor embedding(const Tensor& input, const Tensor& weight, const EmbeddingFuncOptions& options) {
  return lookup(input, weight, options.padding_idx(), "embedding");
}

}  // namespace functional

EmbeddingImpl::EmbeddingImpl(EmbeddingOptions o) : Module("Embedding"), options(std::move(o)) {
  const std::int64_t num = options.num_embeddings(), dim = options.embedding_dim();
  if (num <= 0 || dim <= 0)
    fail("Embedding: num_embeddings and embedding_dim must be positive, got {} and {}", num, dim);
  options.padding_idx(detail::normalized_padding_idx(options.padding_idx(), num, "Embedding"));
  if (options._weight().defined()) {
    const Tensor& w = options._weight();
    check_weight(w, "Embedding");
    if (w.size(0) != num || w.size(1) != dim)
      fail("Embedding: _weight must have shape [{}, {}], got {}", num, dim, describe(w));
    weight = register_parameter("weight", w.detach());
  } else {
    weight = register_parameter("weight", empty({num, dim}, options.dtype()));
    reset_parameters();
  }
}

void EmbeddingImpl::reset_parameters() {
  NoGradGuard no_grad;
  init::normal_(weight);
  if (options.padding_idx()) weight.detach().select(0, *options.padding_idx()).fill_(0.0);
}

Tensor EmbeddingImpl::forward(const Tensor& input) const {
  return lookup(input, weight, options.padding_idx(), "Embedding");
}

Embedding Embedding::from_pretrained(const Tensor& embeddings, const EmbeddingFromPretrainedOptions& options) {
  check_weight(embeddings, "Embedding::from_pretrained");
  Embedding e(
      EmbeddingOptions(embeddings.size(0), embeddings.size(1))._weight(embeddings).padding_idx(options.padding_idx()));
  e->weight.requires_grad_(!options.freeze());
  return e;
}

}  // namespace ag::nn
