// The element-wise losses (and cosine_similarity); nll_loss and cross_entropy are in loss_class.cpp.
#include "nn/loss.h"
#include "nn/loss_detail.h"

namespace ag::nn {

const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::Mean:
      return "mean";
    case Reduction::Sum:
      return "sum";
    case Reduction::None:
      return "none";
    case Reduction::BatchMean:
      return "batchmean";
  }
  return "?";
}

namespace detail {

Tensor reduce_loss(const Tensor& per_element, Reduction r, const char* op) {
  switch (r) {
    case Reduction::Mean:
      return mean(per_element);
    case Reduction::Sum:
      return sum(per_element);
    case Reduction::None:
      return per_element;
    case Reduction::BatchMean:
      break;
  }
  fail("{}: reduction {} is kl_div's only (use mean, sum or none)", op, reduction_name(r));
}

void check_loss_pair(const Tensor& input, const Tensor& target, const char* op) {
  input.checked(op);
  target.checked(op);
  if (input.shape() != target.shape())
    fail("{}: input {} and target {} must have the same shape", op, describe(input), describe(target));
  if (input.dtype() != target.dtype())
    fail("{}: input {} and target {} must have the same dtype", op, describe(input), describe(target));
  if (!is_floating(input.dtype())) fail("{}: expects floating tensors, got {}", op, describe(input));
}

}  // namespace detail

namespace functional {

namespace {

using detail::check_loss_pair;

Tensor reduce(const Tensor& per_element, Reduction r, const char* op) {
  return detail::reduce_loss(per_element, r, op);
}

void check_pair(const Tensor& input, const Tensor& target, const char* op) { check_loss_pair(input, target, op); }

// max(log(x), -100) for x >= 0 whose gradient is finite at x = 0: log only sees positive values
// (log(0) = -inf would turn the zero gradient of the clamp into 0 * inf = NaN).
Tensor clamped_log(const Tensor& x) {
  const Tensor positive = gt(x, 0.0);
  return where(positive, clamp_min(log(where(positive, x, 1.0)), -100.0), -100.0);
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction r) {
  check_pair(input, target, "mse_loss");
  const Tensor d = input - target;
  return reduce(d * d, r, "mse_loss");
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction r) {
  check_pair(input, target, "l1_loss");
  return reduce(abs(input - target), r, "l1_loss");
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, Reduction r) {
  check_pair(input, target, "binary_cross_entropy");
  for (double p : input.to_vector<double>())
    if (!(p >= 0.0 && p <= 1.0))
      fail("binary_cross_entropy: all elements of input {} should be between 0 and 1, found {}", describe(input), p);
  const Tensor one_minus = 1.0 - input;
  return reduce(neg(target * clamped_log(input) + (1.0 - target) * clamped_log(one_minus)), r, "binary_cross_entropy");
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, Reduction r) {
  check_pair(input, target, "binary_cross_entropy_with_logits");
  // softplus is linear above the threshold; 50 keeps log1p(exp(x)) exact to e^-50.
  return reduce((1.0 - target) * input + softplus(neg(input), 1.0, 50.0), r, "binary_cross_entropy_with_logits");
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const SmoothL1LossFuncOptions& options,
                      std::optional<double> beta_opt) {
  check_pair(input, target, "smooth_l1_loss");
  const double beta = beta_opt.value_or(options.beta());
  if (!(beta >= 0.0)) fail("smooth_l1_loss: beta must be non-negative, got {}", beta);
  const Tensor d = input - target;
  const Tensor z = abs(d);
  if (beta == 0.0) return reduce(z, options.reduction(), "smooth_l1_loss");
  return reduce(where(lt(z, beta), (0.5 / beta) * (d * d), z - 0.5 * beta), options.reduction(), "smooth_l1_loss");
}

Tensor huber_loss(const Tensor& input, const Tensor& target, const HuberLossFuncOptions& options) {
  check_pair(input, target, "huber_loss");
  const double delta = options.delta();
  if (!(delta > 0.0)) fail("huber_loss: delta must be positive, got {}", delta);
  const Tensor d = input - target;
  const Tensor z = abs(d);
  return reduce(where(lt(z, delta), 0.5 * (d * d), delta * (z - 0.5 * delta)), options.reduction(), "huber_loss");
}

Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivFuncOptions& options) {
  check_pair(input, target, "kl_div");
  Tensor loss;
  if (options.log_target()) {
    loss = exp(target) * (target - input);
  } else {
    // xlogy(target, target) - target input: the first term is 0 where target = 0 (log only sees
    // the other elements, so that its gradient there is 0, not 0 * inf).
    const Tensor zero = eq(target, 0.0);
    loss = where(zero, 0.0, target * log(where(zero, 1.0, target))) - target * input;
  }
  if (options.reduction() != Reduction::BatchMean) return reduce(loss, options.reduction(), "kl_div");
  if (input.dim() == 0) return sum(loss);
  return sum(loss) / static_cast<double>(input.size(0));
}

Tensor margin_ranking_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                           const MarginRankingLossFuncOptions& options) {
  check_pair(input1, input2, "margin_ranking_loss");
  target.checked("margin_ranking_loss");
  if (target.shape() != input1.shape() || target.dtype() != input1.dtype())
    fail("margin_ranking_loss: target {} must have the shape and dtype of input1 {} and input2 {}", describe(target),
         describe(input1), describe(input2));
  return reduce(clamp_min(neg(target) * (input1 - input2) + options.margin(), 0.0), options.reduction(),
                "margin_ranking_loss");
}

Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, const CosineSimilarityFuncOptions& options) {
  return ag::cosine_similarity(x1, x2, options.dim(), options.eps());
}

}  // namespace functional
}  // namespace ag::nn

namespace ag {

Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight, Reduction reduction,
                std::int64_t ignore_index) {
  return nn::functional::nll_loss(
      input, target,
      nn::functional::NLLLossFuncOptions().weight(weight).ignore_index(ignore_index).reduction(reduction));
}

Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, std::int64_t dim, double eps) {
  x1.checked("cosine_similarity");
  x2.checked("cosine_similarity");
  if (x1.dtype() != x2.dtype() || !is_floating(x1.dtype()))
    fail("cosine_similarity: x1 {} and x2 {} must share a floating dtype", describe(x1), describe(x2));
  const Shape shape = broadcast_shapes(x1.shape(), x2.shape(), "cosine_similarity");
  const auto rank = static_cast<std::int64_t>(shape.size());
  if (dim < -rank || dim >= rank || rank == 0)
    fail("cosine_similarity: dim {} is out of range for x1 {} and x2 {} (broadcast to {} dims)", dim, describe(x1),
         describe(x2), rank);
  const Tensor a = x1.shape() == shape ? x1 : expand(x1, shape);
  const Tensor b = x2.shape() == shape ? x2 : expand(x2, shape);
  // As PyTorch 1.13: the squared norms are clamped at eps^2 outside the graph, so that the gradient
  // is that of sum(a b) / sqrt(|a|^2 |b|^2) even where the clamp is active (finite at x = 0)
  const auto squared_norm = [&](const Tensor& x) {
    const Tensor s = sum(x * x, dim);
    const Tensor value = s.detach();
    return s + (clamp_min(value, eps * eps) - value);
  };
  return sum(a * b, dim) / sqrt(squared_norm(a) * squared_norm(b));
}

}  // namespace ag
