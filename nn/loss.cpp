#include "nn/loss.h"

#include "autograd/ops/fused.h"

namespace ag::nn::functional {

namespace {

Tensor reduce(const Tensor& per_element, Reduction r) {
  switch (r) {
    case Reduction::Mean:
      return mean(per_element);
    case Reduction::Sum:
      return sum(per_element);
    case Reduction::None:
      return per_element;
  }
  return per_element;
}

void check_pair(const Tensor& input, const Tensor& target, const char* op) {
  input.checked(op);
  target.checked(op);
  if (input.shape() != target.shape())
    fail("{}: input {} and target {} must have the same shape", op, describe(input), describe(target));
  if (input.dtype() != target.dtype())
    fail("{}: input {} and target {} must have the same dtype", op, describe(input), describe(target));
  if (!is_floating(input.dtype())) fail("{}: expects floating tensors, got {}", op, describe(input));
}

// Class-index targets: int64, shape [N] for input [N, C] (0-d for [C]), values in [0, C).
void check_labels(const Tensor& input, const Tensor& target, const char* op) {
  if (input.dim() != 1 && input.dim() != 2) fail("{}: expects input [N, C] or [C], got {}", op, describe(input));
  if (target.dtype() != kInt64)
    fail("{}: class-index target must be int64, got {} (input {})", op, describe(target), describe(input));
  const bool batched = input.dim() == 2;
  if ((batched && (target.dim() != 1 || target.size(0) != input.size(0))) || (!batched && target.dim() != 0))
    fail("{}: target {} does not match input {} (expected [{}])", op, describe(target), describe(input),
         batched ? fmt::format("{}", input.size(0)) : "");
  const auto c = input.size(-1);
  const std::int64_t* t = target.cdata<std::int64_t>();
  for (std::int64_t i = 0; i < target.numel(); ++i)
    if (t[i] < 0 || t[i] >= c)
      fail("{}: target {} at position {} is out of range for {} classes (input {})", op, t[i], i, c, describe(input));
}

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
  return reduce(d * d, r);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction r) {
  check_pair(input, target, "l1_loss");
  return reduce(abs(input - target), r);
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, Reduction r) {
  check_pair(input, target, "binary_cross_entropy");
  for (double p : input.to_vector<double>())
    if (!(p >= 0.0 && p <= 1.0))
      fail("binary_cross_entropy: all elements of input {} should be between 0 and 1, found {}", describe(input), p);
  const Tensor one_minus = 1.0 - input;
  return reduce(neg(target * clamped_log(input) + (1.0 - target) * clamped_log(one_minus)), r);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, Reduction r) {
  check_pair(input, target, "binary_cross_entropy_with_logits");
  // softplus is linear above the threshold; 50 keeps log1p(exp(x)) exact to e^-50.
  return reduce((1.0 - target) * input + softplus(neg(input), 1.0, 50.0), r);
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction r) {
  log_probs.checked("nll_loss");
  target.checked("nll_loss");
  check_labels(log_probs, target, "nll_loss");
  if (log_probs.dim() == 1) return reduce(neg(select(log_probs, 0, target.item<std::int64_t>())), r);
  const Tensor picked = squeeze(gather(log_probs, 1, unsqueeze(target, 1)), 1);
  return reduce(neg(picked), r);
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, Reduction r) {
  input.checked("cross_entropy");
  target.checked("cross_entropy");
  if (input.dim() != 1 && input.dim() != 2)
    fail("cross_entropy: expects logits [N, C] or [C], got {}", describe(input));
  if (is_floating(target.dtype())) {
    check_pair(input, target, "cross_entropy");
    return reduce(neg(sum(target * log_softmax(input, -1), -1)), r);
  }
  check_labels(input, target, "cross_entropy");
  if (input.dim() == 1) return reduce(reshape(softmax_cross_entropy(unsqueeze(input, 0), reshape(target, {1})), {}), r);
  return reduce(softmax_cross_entropy(input, target), r);
}

}  // namespace ag::nn::functional
