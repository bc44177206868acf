// The losses on class scores: nll_loss and cross_entropy, with per-class weights, ignore_index and
// label smoothing in PyTorch's exact arithmetic (see loss.h).
#include <vector>

#include "autograd/ops/fused.h"
#include "nn/loss.h"
#include "nn/loss_detail.h"

namespace ag::nn::functional {

namespace {

// The class dim of an input [C] (0) or [N, C, d1, ..., dk] (1).
std::int64_t class_dim(const Tensor& input) { return input.dim() == 1 ? 0 : 1; }

// Input [N, C], [C] or [N, C, d1, ..., dk] (k >= 1), floating.
void check_scores(const Tensor& input, const char* op, const char* what) {
  if (input.dim() < 1) fail("{}: expects {} [N, C], [C] or [N, C, d1, ..., dk], got {}", op, what, describe(input));
  if (!is_floating(input.dtype())) fail("{}: expects a floating input, got {}", op, describe(input));
}

// The class-index target's shape for input: [N, d1, ..., dk] (the input's without its class dim), 0-d
// for [C].
Shape label_shape(const Tensor& input) {
  Shape s = input.shape();
  s.erase(s.begin() + class_dim(input));
  return s;
}

// Class-index targets: int64, shape label_shape(input), values in [0, C) or equal to ignore_index.
// Returns whether any element is ignored.
bool check_labels(const Tensor& input, const Tensor& target, std::int64_t ignore_index, const char* op) {
  check_scores(input, op, "input");
  if (target.dtype() != kInt64)
    fail("{}: class-index target must be int64, got {} (input {})", op, describe(target), describe(input));
  const Shape expected = label_shape(input);
  if (target.shape() != expected)
    fail("{}: target {} does not match input {} (expected {})", op, describe(target), describe(input),
         shape_str(expected));
  const auto c = input.size(class_dim(input));
  const Tensor tc = target.contiguous();
  const std::int64_t* t = tc.cdata<std::int64_t>();
  bool any_ignored = false;
  for (std::int64_t i = 0; i < tc.numel(); ++i) {
    if (t[i] == ignore_index) {
      any_ignored = true;
    } else if (t[i] < 0 || t[i] >= c) {
      fail("{}: target {} at position {} is out of range for {} classes (input {})", op, t[i], i, c, describe(input));
    }
  }
  return any_ignored;
}

// x [N, C, d1, ..., dk] (k >= 1) as [N d1 ... dk, C]: the class dim last, the rows in the order of
// the target's elements.
Tensor classes_last(const Tensor& x) {
  Shape dims;
  for (std::int64_t i = 0; i < x.dim(); ++i)
    if (i != 1) dims.push_back(i);
  dims.push_back(1);
  return reshape(permute(x, dims), {-1, x.size(1)});
}

// Per-class weights: undefined, or [C] of the input's dtype.
void check_weight(const Tensor& weight, const Tensor& input, const char* op) {
  if (!weight.defined()) return;
  const auto c = input.size(class_dim(input));
  if (weight.dim() != 1 || weight.size(0) != c || weight.dtype() != input.dtype())
    fail("{}: weight {} must be [{}] (one per class) of input {}'s dtype", op, describe(weight), c, describe(input));
}

void check_smoothing(double e, const char* op) {
  if (!(e >= 0.0 && e <= 1.0)) fail("{}: label_smoothing must be between 0.0 and 1.0, got {}", op, e);
}

// The class-index loss on log-probabilities lp [N, C], [C] or [N, C, d1, ..., dk]: (1 - e) nll + e / C
// smoothing term, each with the weights and ignored elements (see loss.h); the ND case is the 2-D one
// over the rows of classes_last(lp), reduction none reshaped to the target's shape.
Tensor class_index_loss(const Tensor& lp, const Tensor& target, const Tensor& weight, std::int64_t ignore_index,
                        Reduction r, double e, const char* op) {
  const std::vector<std::int64_t> t = target.to_vector<std::int64_t>();
  const Tensor lp2 = lp.dim() == 1 ? unsqueeze(lp, 0) : lp.dim() == 2 ? lp : classes_last(lp);
  const auto n = static_cast<std::int64_t>(t.size());
  const std::int64_t c = lp2.size(1);
  const std::vector<double> w = weight.defined() ? weight.to_vector<double>() : std::vector<double>();
  std::vector<std::int64_t> safe(t.size());
  std::vector<double> row_weight(t.size()), kept(t.size());
  double denominator = 0.0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const bool ignored = t[i] == ignore_index;
    safe[i] = ignored ? 0 : t[i];
    kept[i] = ignored ? 0.0 : 1.0;
    row_weight[i] = ignored ? 0.0 : (w.empty() ? 1.0 : w[static_cast<std::size_t>(t[i])]);
    denominator += row_weight[i];
  }
  const auto finish = [&](const Tensor& rows) {
    switch (r) {
      case Reduction::None:
        return lp.dim() == 2 ? rows : reshape(rows, target.shape());
      case Reduction::Sum:
        return sum(rows);
      case Reduction::Mean:
        return sum(rows) / denominator;  // 0 / 0 = NaN when every row is ignored, as PyTorch
      case Reduction::BatchMean:
        break;
    }
    fail("{}: reduction {} is kl_div's only (use mean, sum or none)", op, reduction_name(r));
  };
  const Tensor picked = squeeze(gather(lp2, 1, tensor(safe, {n, 1})), 1);
  const Tensor nll = finish(neg(picked * tensor(row_weight, {n}, lp.dtype())));
  if (e == 0.0) return nll;
  const Tensor per_class = weight.defined() ? lp2 * weight : lp2;
  const Tensor smooth = finish(neg(sum(per_class, 1)) * tensor(kept, {n}, lp.dtype()));
  return (1.0 - e) * nll + (e / static_cast<double>(c)) * smooth;
}

}  // namespace

Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossFuncOptions& options) {
  input.checked("nll_loss");
  target.checked("nll_loss");
  check_labels(input, target, options.ignore_index(), "nll_loss");
  check_weight(options.weight(), input, "nll_loss");
  return class_index_loss(input, target, options.weight(), options.ignore_index(), options.reduction(), 0.0,
                          "nll_loss");
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyFuncOptions& options) {
  const char* op = "cross_entropy";
  input.checked(op);
  target.checked(op);
  check_scores(input, op, "logits");
  check_weight(options.weight(), input, op);
  const double e = options.label_smoothing();
  check_smoothing(e, op);
  const Reduction r = options.reduction();
  const Tensor& weight = options.weight();
  const std::int64_t cd = class_dim(input);
  if (is_floating(target.dtype())) {
    detail::check_loss_pair(input, target, op);
    if (options.ignore_index() >= 0)
      fail("{}: ignore_index ({}) is not supported with class probabilities (target {})", op, options.ignore_index(),
           describe(target));
    const double c = static_cast<double>(input.size(cd));
    const Tensor p = e == 0.0 ? target : (1.0 - e) * target + e / c;
    const Tensor lp = log_softmax(input, cd);
    Shape wshape(static_cast<std::size_t>(input.dim() - cd), 1);  // weight [C] along the class dim
    wshape[0] = input.size(cd);
    const Tensor terms = weight.defined() ? p * lp * reshape(weight, wshape) : p * lp;
    return detail::reduce_loss(neg(sum(terms, cd)), r, op);
  }
  const bool any_ignored = check_labels(input, target, options.ignore_index(), op);
  if (!weight.defined() && e == 0.0 && !any_ignored) {
    // the plain case: one fused pass
    if (input.dim() == 1)
      return detail::reduce_loss(reshape(softmax_cross_entropy(unsqueeze(input, 0), reshape(target, {1})), {}), r, op);
    if (input.dim() == 2) return detail::reduce_loss(softmax_cross_entropy(input, target), r, op);
    const Tensor rows = softmax_cross_entropy(classes_last(input), reshape(target, {-1}));
    return detail::reduce_loss(reshape(rows, target.shape()), r, op);
  }
  return class_index_loss(log_softmax(input, cd), target, weight, options.ignore_index(), r, e, op);
}

}  // namespace ag::nn::functional

namespace ag::nn {

NLLLossImpl::NLLLossImpl(const NLLLossOptions& options) : Module("NLLLoss"), options(options) {
  if (options.weight().defined()) weight = register_buffer("weight", options.weight());
}

Tensor NLLLossImpl::forward(const Tensor& input, const Tensor& target) const {
  return functional::nll_loss(input, target, NLLLossOptions(options).weight(weight));
}

CrossEntropyLossImpl::CrossEntropyLossImpl(const CrossEntropyLossOptions& options)
    : Module("CrossEntropyLoss"), options(options) {
  if (options.weight().defined()) weight = register_buffer("weight", options.weight());
}

Tensor CrossEntropyLossImpl::forward(const Tensor& input, const Tensor& target) const {
  return functional::cross_entropy(input, target, CrossEntropyLossOptions(options).weight(weight));
}

}  // namespace ag::nn
