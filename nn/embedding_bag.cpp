#include "nn/embedding_bag.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "nn/init.h"

namespace ag::nn {

namespace {

const char* mode_name(EmbeddingBagMode m) {
  switch (m) {
    case EmbeddingBagMode::Sum:
      return "sum";
    case EmbeddingBagMode::Mean:
      return "mean";
    default:
      return "max";
  }
}

// The [start, end) range of each bag in the flattened input, from a 2-D input or from offsets.
std::vector<std::pair<std::int64_t, std::int64_t>> bag_ranges(const Tensor& input, const Tensor& offsets,
                                                              bool include_last_offset, const char* who) {
  std::vector<std::pair<std::int64_t, std::int64_t>> bags;
  if (input.dim() == 2) {
    if (offsets.defined())
      fail("{}: offsets must be undefined for a 2-D input (each row is a bag), got input {} and offsets {}", who,
           describe(input), describe(offsets));
    const std::int64_t b = input.size(0), len = input.size(1);
    for (std::int64_t i = 0; i < b; ++i) bags.emplace_back(i * len, (i + 1) * len);
    return bags;
  }
  if (input.dim() != 1)
    fail("{}: expected a 1-D input with offsets or a 2-D input [B, N], got {}", who, describe(input));
  if (!offsets.defined()) fail("{}: a 1-D input {} needs offsets (the start of each bag)", who, describe(input));
  if (offsets.dim() != 1 || (offsets.dtype() != kInt64 && offsets.dtype() != kInt32))
    fail("{}: expected 1-D int64 (or int32) offsets, got {}", who, describe(offsets));
  const auto off = offsets.to_vector<std::int64_t>();
  const std::int64_t n = input.numel();
  if (include_last_offset && off.empty())
    fail("{}: include_last_offset needs at least one offset, got {}", who, describe(offsets));
  if (!off.empty() && off[0] != 0) fail("{}: offsets[0] must be 0, got {}", who, off[0]);
  for (std::size_t i = 0; i < off.size(); ++i)
    if (off[i] > n || (i > 0 && off[i] < off[i - 1]))
      fail("{}: offsets must be non-decreasing and at most the input's size {}, got offsets[{}] = {}", who, n, i,
           off[i]);
  const std::size_t nb = include_last_offset ? off.size() - 1 : off.size();
  for (std::size_t i = 0; i < nb; ++i) bags.emplace_back(off[i], i + 1 < off.size() ? off[i + 1] : n);
  return bags;
}

// Every check comes before the first op, so an error records nothing.
Tensor bag(const Tensor& input, const Tensor& weight, const functional::EmbeddingBagFuncOptions& o, const char* who) {
  const Tensor& offsets = o.offsets();
  const Tensor& per_sample_weights = o.per_sample_weights();
  const EmbeddingBagMode mode = o.mode();
  if (!weight.defined() || weight.dim() != 2 || !is_floating(weight.dtype()))
    fail("{}: expected a floating weight [num_embeddings, embedding_dim], got {}", who,
         weight.defined() ? describe(weight) : std::string("an undefined tensor"));
  const std::int64_t num = weight.size(0), dim = weight.size(1);
  const auto pad = detail::normalized_padding_idx(o.padding_idx(), num, who);
  detail::check_norm_type(o.max_norm(), o.norm_type(), who);
  if (o.scale_grad_by_freq() && mode == EmbeddingBagMode::Max)
    fail("{}: mode max does not support scaling the gradient by the frequency (scale_grad_by_freq)", who);
  if (!input.defined()) fail("{}: the input indices are undefined", who);
  const auto bags = bag_ranges(input, offsets, o.include_last_offset(), who);
  const Tensor idx = detail::checked_embedding_indices(input, num, who);
  if (per_sample_weights.defined()) {
    if (mode != EmbeddingBagMode::Sum)
      fail("{}: per_sample_weights are only supported with mode sum, got mode {}", who, mode_name(mode));
    if (per_sample_weights.shape() != input.shape() || per_sample_weights.dtype() != weight.dtype())
      fail("{}: per_sample_weights must have the input's shape {} and the weight's dtype {}, got {}", who,
           shape_str(input.shape()), dtype_name(weight.dtype()), describe(per_sample_weights));
  }

  const std::int64_t n = idx.numel(), nbags = static_cast<std::int64_t>(bags.size());
  const Tensor flat = reshape(idx, {n});
  const std::int64_t* v = flat.cdata<std::int64_t>();
  // Per bag, the positions of its non-padding entries; the longest bag sets the padded length L.
  std::vector<double> counts(static_cast<std::size_t>(nbags));
  std::int64_t longest = 1;
  bool padded = false;
  for (std::int64_t b = 0; b < nbags; ++b) {
    const auto [s, e] = bags[static_cast<std::size_t>(b)];
    std::int64_t c = 0;
    for (std::int64_t k = s; k < e; ++k) c += pad && v[k] == *pad ? 0 : 1;
    counts[static_cast<std::size_t>(b)] = static_cast<double>(c);
    longest = std::max(longest, c);
    padded |= c != (input.dim() == 2 ? input.size(1) : -1);
  }

  if (o.max_norm()) detail::embedding_renorm_(weight, flat, *o.max_norm(), o.norm_type());
  Tensor rows = index_select(weight, 0, flat);  // [n, dim]
  if (o.scale_grad_by_freq() && weight.requires_grad() && GradMode::is_enabled())
    rows = detail::scale_grad_by_freq(rows, flat);
  if (per_sample_weights.defined()) rows = rows * reshape(per_sample_weights, {n, 1});
  Tensor grid;  // [B, L, dim]
  if (!padded && n > 0) {
    grid = reshape(rows, {nbags, longest, dim});  // a 2-D input with no padding entry: the rows as they are
  } else {
    // Each bag's entries, then the filler row n (zeros, or -inf for max) up to L.
    const double fill = mode == EmbeddingBagMode::Max ? -std::numeric_limits<double>::infinity() : 0.0;
    const Tensor extended = cat({rows, full({1, dim}, fill, weight.dtype())}, 0);
    std::vector<std::int64_t> pos(static_cast<std::size_t>(nbags * longest), n);
    for (std::int64_t b = 0; b < nbags; ++b) {
      std::int64_t j = 0;
      for (std::int64_t k = bags[static_cast<std::size_t>(b)].first; k < bags[static_cast<std::size_t>(b)].second; ++k)
        if (!(pad && v[k] == *pad)) pos[static_cast<std::size_t>(b * longest + j++)] = k;
    }
    grid = reshape(index_select(extended, 0, tensor(pos, {nbags * longest}, kInt64)), {nbags, longest, dim});
  }
  switch (mode) {
    case EmbeddingBagMode::Sum:
      return sum(grid, 1);
    case EmbeddingBagMode::Mean: {
      for (auto& c : counts) c = std::max(c, 1.0);  // an empty bag: 0 / 1
      return sum(grid, 1) / tensor(counts, {nbags, 1}, weight.dtype());
    }
    default: {
      Tensor out = amax(grid, 1);
      std::vector<double> empty_bag(counts.size());
      bool any_empty = false;
      for (std::size_t b = 0; b < counts.size(); ++b) any_empty |= (empty_bag[b] = counts[b] == 0 ? 1.0 : 0.0) != 0;
      if (any_empty) out = where(tensor(empty_bag, {nbags, 1}, weight.dtype()), 0.0, out);
      return out;
    }
  }
}

}  // namespace

namespace functional {

Tensor embedding_bag(const Tensor& input, const Tensor& weight, const EmbeddingBagFuncOptions& o) {
  return bag(input, weight, o, "embedding_bag");
}

}  // namespace functional

EmbeddingBagImpl::EmbeddingBagImpl(EmbeddingBagOptions o) : Module("EmbeddingBag"), options(std::move(o)) {
  const std::int64_t num = options.num_embeddings(), dim = options.embedding_dim();
  if (num <= 0 || dim <= 0)
    fail("EmbeddingBag: num_embeddings and embedding_dim must be positive, got {} and {}", num, dim);
  options.padding_idx(detail::normalized_padding_idx(options.padding_idx(), num, "EmbeddingBag"));
  detail::check_norm_type(options.max_norm(), options.norm_type(), "EmbeddingBag");
  if (options._weight().defined()) {
    const Tensor& w = options._weight();
    if (w.dim() != 2 || w.size(0) != num || w.size(1) != dim || !is_floating(w.dtype()))
      fail("EmbeddingBag: _weight must be a floating [{}, {}], got {}", num, dim, describe(w));
    weight = register_parameter("weight", w.detach());
  } else {
    weight = register_parameter("weight", empty({num, dim}, options.dtype()));
    reset_parameters();
  }
}

void EmbeddingBagImpl::reset_parameters() {
  NoGradGuard no_grad;
  init::normal_(weight);
  if (options.padding_idx()) weight.detach().select(0, *options.padding_idx()).fill_(0.0);
}

Tensor EmbeddingBagImpl::forward(const Tensor& input, const Tensor& offsets, const Tensor& per_sample_weights) const {
  return bag(input, weight,
             functional::EmbeddingBagFuncOptions()
                 .offsets(offsets)
                 .per_sample_weights(per_sample_weights)
                 .mode(options.mode())
                 .include_last_offset(options.include_last_offset())
                 .padding_idx(options.padding_idx())
                 .max_norm(options.max_norm())
                 .norm_type(options.norm_type())
                 .scale_grad_by_freq(options.scale_grad_by_freq()),
             "EmbeddingBag");
}

}  // namespace ag::nn
