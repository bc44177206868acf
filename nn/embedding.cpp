#include "nn/embedding.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <vector>

#include <autograd/function.h>

#include "nn/init.h"

namespace ag::nn {

namespace detail {

void check_not_sparse(bool sparse, const char* who) {
  if (sparse)
    fail(
        "{}: sparse(true) is not supported: this library has no sparse tensors (sparse gradients need them); "
        "leave sparse false for a dense gradient",
        who);
}

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

/// The identity, whose gradient is multiplied by `scale` (1 / the frequency of each position's row):
/// backward g -> (g scale).detach() + (g - g.detach()), the scaled values with the identity as their
/// derivative with respect to g, as PyTorch's embedding double backward (which ignores the scaling).
struct ScaleGradByFreq : Function<ScaleGradByFreq> {
  static Tensor forward(AutogradContext* ctx, const Tensor& rows, const Tensor& scale) {
    ctx->saved_data["scale"] = scale;
    return rows.clone();
  }
  static std::vector<Tensor> backward(AutogradContext* ctx, const std::vector<Tensor>& g) {
    const Tensor scale = ctx->saved_data["scale"].toTensor();
    return {(g[0] * scale).detach() + (g[0] - g[0].detach())};
  }
};

template <typename T>
double row_norm(const T* row, std::int64_t dim, double p) {
  double acc = 0;
  if (std::isinf(p)) {
    for (std::int64_t j = 0; j < dim; ++j) acc = std::max(acc, std::abs(static_cast<double>(row[j])));
    return acc;
  }
  if (p == 1) {
    for (std::int64_t j = 0; j < dim; ++j) acc += std::abs(static_cast<double>(row[j]));
    return acc;
  }
  if (p == 2) {
    for (std::int64_t j = 0; j < dim; ++j) acc += static_cast<double>(row[j]) * static_cast<double>(row[j]);
    return std::sqrt(acc);
  }
  for (std::int64_t j = 0; j < dim; ++j) acc += std::pow(std::abs(static_cast<double>(row[j])), p);
  return std::pow(acc, 1.0 / p);
}

}  // namespace

namespace detail {

void check_norm_type(const std::optional<double>& max_norm, double norm_type, const char* who) {
  if (max_norm && !(norm_type > 0))
    fail("{}: norm_type must be positive (or infinity) with max_norm, got {}", who, norm_type);
}

void embedding_renorm_(const Tensor& weight, const Tensor& idx, double max_norm, double p) {
  const std::int64_t dim = weight.size(1);
  const std::int64_t* v = idx.cdata<std::int64_t>();
  std::vector<std::int64_t> rows(v, v + idx.numel());
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  std::vector<std::pair<std::int64_t, double>> scales;
  for (const std::int64_t r : rows) {
    const double norm = weight.dtype() == kFloat64 ? row_norm(weight.cdata<double>() + r * dim, dim, p)
                                                   : row_norm(weight.cdata<float>() + r * dim, dim, p);
    if (norm > max_norm) scales.emplace_back(r, max_norm / (norm + 1e-7));
  }
  if (scales.empty()) return;
  NoGradGuard no_grad;
  Tensor w = weight.detach();
  for (const auto& [r, scale] : scales) w.select(0, r).mul_(scale);
}

Tensor scale_grad_by_freq(const Tensor& rows, const Tensor& flat) {
  const std::int64_t n = flat.numel();
  const std::int64_t* v = flat.cdata<std::int64_t>();
  std::unordered_map<std::int64_t, std::int64_t> count;
  for (std::int64_t k = 0; k < n; ++k) ++count[v[k]];
  std::vector<double> inv(static_cast<std::size_t>(n));
  bool any = false;
  for (std::int64_t k = 0; k < n; ++k) {
    const std::int64_t c = count[v[k]];
    any |= c > 1;
    inv[static_cast<std::size_t>(k)] = 1.0 / static_cast<double>(c);
  }
  return any ? ScaleGradByFreq::apply(rows, tensor(inv, {n, 1}, rows.dtype())) : rows;
}

}  // namespace detail

namespace {

// Every check comes before the first op (and before any renormalisation), so an error records and
// changes nothing.
Tensor lookup(const Tensor& input, const Tensor& weight, const functional::EmbeddingFuncOptions& o, const char* who) {
  check_weight(weight, who);
  const std::int64_t num = weight.size(0);
  const auto pad = detail::normalized_padding_idx(o.padding_idx(), num, who);
  detail::check_norm_type(o.max_norm(), o.norm_type(), who);
  const Tensor idx = detail::checked_embedding_indices(input, num, who);
  const std::int64_t n = idx.numel();
  const Tensor flat = reshape(idx, {n});
  if (o.max_norm()) detail::embedding_renorm_(weight, flat, *o.max_norm(), o.norm_type());
  Tensor rows = index_select(weight, 0, flat);  // [n, dim]
  if ((pad || o.scale_grad_by_freq()) && weight.requires_grad() && GradMode::is_enabled()) {
    const std::int64_t* v = flat.cdata<std::int64_t>();
    if (pad) {
      // The padding row is read as it is, but passes no gradient: where() takes it from a detached copy.
      std::vector<double> hit(static_cast<std::size_t>(n));
      bool any = false;
      for (std::int64_t k = 0; k < n; ++k) any |= (hit[static_cast<std::size_t>(k)] = v[k] == *pad ? 1.0 : 0.0) != 0;
      if (any) rows = where(tensor(hit, {n, 1}, weight.dtype()), rows.detach(), rows);
    }
    if (o.scale_grad_by_freq()) rows = detail::scale_grad_by_freq(rows, flat);
  }
  Shape out = idx.shape();
  out.push_back(weight.size(1));
  return reshape(rows, out);
}

functional::EmbeddingFuncOptions func_options(const EmbeddingOptions& o) {
  return functional::EmbeddingFuncOptions()
      .padding_idx(o.padding_idx())
      .max_norm(o.max_norm())
      .norm_type(o.norm_type())
      .scale_grad_by_freq(o.scale_grad_by_freq());
}

}  // namespace

namespace functional {

Tensor embedding(const Tensor& input, const Tensor& weight, const EmbeddingFuncOptions& options) {
  return lookup(input, weight, options, "embedding");
}

}  // namespace functional

EmbeddingImpl::EmbeddingImpl(EmbeddingOptions o) : Module("Embedding"), options(std::move(o)) {
  const std::int64_t num = options.num_embeddings(), dim = options.embedding_dim();
  if (num <= 0 || dim <= 0)
    fail("Embedding: num_embeddings and embedding_dim must be positive, got {} and {}", num, dim);
  options.padding_idx(detail::normalized_padding_idx(options.padding_idx(), num, "Embedding"));
  detail::check_norm_type(options.max_norm(), options.norm_type(), "Embedding");
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
  return lookup(input, weight, func_options(options), "Embedding");
}

Embedding Embedding::from_pretrained(const Tensor& embeddings, const EmbeddingFromPretrainedOptions& options) {
  check_weight(embeddings, "Embedding::from_pretrained");
  Embedding e(EmbeddingOptions(embeddings.size(0), embeddings.size(1))
                  ._weight(embeddings)
                  .padding_idx(options.padding_idx())
                  .max_norm(options.max_norm())
                  .norm_type(options.norm_type())
                  .scale_grad_by_freq(options.scale_grad_by_freq()));
  e->weight.requires_grad_(!options.freeze());
  return e;
}

}  // namespace ag::nn
