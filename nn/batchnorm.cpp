#include "nn/batchnorm.h"

#include "nn/init.h"
#include "nn/normalization.h"

namespace ag::nn {

namespace {

// Checks everything batch_norm_impl reads, before anything is computed or changed.
void check_batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                      const Tensor& bias, bool training, const char* who) {
  detail::check_norm_input(input, who);
  if (input.dim() < 2) fail("{}: expected input [N, C, *], got {}", who, describe(input));
  const std::int64_t c = input.size(1);
  detail::check_affine(weight, "weight", {c}, input, who);
  detail::check_affine(bias, "bias", {c}, input, who);
  detail::check_affine(running_mean, "running_mean", {c}, input, who);
  detail::check_affine(running_var, "running_var", {c}, input, who);
  if (!training && (!running_mean.defined() || !running_var.defined()))
    fail("{}: running_mean and running_var must be defined when not training (input {})", who, describe(input));
  if (training && input.numel() / std::max<std::int64_t>(c, 1) == 1)
    fail("{}: expected more than 1 value per channel when training, got input {}", who, describe(input));
}

Tensor batch_norm_impl(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                       const Tensor& bias, bool training, double momentum, double eps) {
  std::vector<std::int64_t> dims{0};
  for (std::int64_t d = 2; d < input.dim(); ++d) dims.push_back(d);
  Shape s(static_cast<std::size_t>(input.dim()), 1);
  s[1] = input.size(1);
  if (!training) {
    // Folded into one scale and one shift per channel: two passes over the input.
    Tensor scale = rsqrt(running_var + eps);
    if (weight.defined()) scale = scale * weight;
    Tensor shift = -(running_mean * scale);
    if (bias.defined()) shift = shift + bias;
    return input * reshape(scale, s) + reshape(shift, s);
  }
  const Tensor mu = mean(input, dims, true);
  const Tensor centred = input - mu;
  const Tensor var = mean(centred * centred, dims, true);  // biased: normalises the batch
  Tensor scale = rsqrt(var + eps);
  if (weight.defined()) scale = scale * reshape(weight, s);
  Tensor y = centred * scale;
  if (bias.defined()) y = y + reshape(bias, s);
  if (running_mean.defined() || running_var.defined()) {
    NoGradGuard no_grad;
    const std::int64_t c = input.size(1), n = input.numel() / c;
    Tensor rm = running_mean, rv = running_var;  // handles to the caller's buffers, updated in place
    if (rm.defined()) rm.mul_(1.0 - momentum).add_(reshape(mu.detach(), {c}), momentum);
    if (rv.defined()) {
      const double unbias = static_cast<double>(n) / static_cast<double>(n - 1);
      rv.mul_(1.0 - momentum).add_(reshape(var.detach(), {c}), momentum * unbias);
    }
  }
  return y;
}

}  // namespace

namespace functional {

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const BatchNormFuncOptions& o) {
  check_batch_norm(input, running_mean, running_var, o.weight(), o.bias(), o.training(), "batch_norm");
  if (o.training() && (running_mean.defined() || running_var.defined()) && !o.momentum())
    fail("batch_norm: momentum must be set to update the running statistics (input {})", describe(input));
  return batch_norm_impl(input, running_mean, running_var, o.weight(), o.bias(), o.training(),
                         o.momentum().value_or(0.0), o.eps());
}

}  // namespace functional

BatchNormImplBase::BatchNormImplBase(const BatchNormOptions& o, const char* name, std::int64_t min_rank,
                                     std::int64_t max_rank)
    : Module(name), options(o), min_rank_(min_rank), max_rank_(max_rank) {
  if (o.num_features() <= 0) fail("{}: num_features must be positive, got {}", name, o.num_features());
  const std::int64_t c = o.num_features();
  if (o.affine()) {
    weight = register_parameter("weight", empty({c}, o.dtype()));
    bias = register_parameter("bias", empty({c}, o.dtype()));
  }
  if (o.track_running_stats()) {
    running_mean = register_buffer("running_mean", zeros({c}, o.dtype()));
    running_var = register_buffer("running_var", ones({c}, o.dtype()));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, kInt64));
  }
  reset_parameters();
}

void BatchNormImplBase::reset_running_stats() {
  if (!options.track_running_stats()) return;
  NoGradGuard no_grad;
  running_mean.fill_(0.0);
  running_var.fill_(1.0);
  *num_batches_tracked.data<std::int64_t>() = 0;
  num_batches_tracked.bump_version();
}

void BatchNormImplBase::reset_parameters() {
  reset_running_stats();
  if (!weight.defined()) return;
  init::ones_(weight);
  init::zeros_(bias);
}

Tensor BatchNormImplBase::forward(const Tensor& input) {
  const char* who = name().c_str();
  detail::check_norm_input(input, who);
  const std::int64_t c = options.num_features();
  if (input.dim() < min_rank_ || input.dim() > max_rank_ || input.size(1) != c) {
    if (max_rank_ == 3) fail("{}: expected input [N, {}] or [N, {}, L], got {}", who, c, c, describe(input));
    fail("{}: expected input [N, {}{}], got {}", who, c, max_rank_ == 4 ? ", H, W" : ", D, H, W", describe(input));
  }
  const bool batch_stats = is_training() || !options.track_running_stats();
  check_batch_norm(input, running_mean, running_var, weight, bias, batch_stats, who);
  double factor = options.momentum().value_or(0.0);
  if (is_training() && options.track_running_stats()) {
    NoGradGuard no_grad;
    std::int64_t& count = *num_batches_tracked.data<std::int64_t>();
    ++count;
    num_batches_tracked.bump_version();
    if (!options.momentum()) factor = 1.0 / static_cast<double>(count);
  }
  // In training without track_running_stats there is nothing to update (the buffers are undefined); in
  // eval mode without them the batch statistics normalise, as in libtorch.
  return batch_norm_impl(input, running_mean, running_var, weight, bias, batch_stats, factor, options.eps());
}

}  // namespace ag::nn
