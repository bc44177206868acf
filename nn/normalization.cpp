#include "nn/normalization.h"

#include "nn/init.h"

namespace ag::nn {

namespace detail {

void check_norm_input(const Tensor& input, const char* who) {
  if (!input.defined()) fail("{}: the input is undefined", who);
  if (!is_floating(input.dtype())) fail("{}: expected a floating input, got {}", who, describe(input));
}

void check_affine(const Tensor& t, const char* what, const Shape& shape, const Tensor& input, const char* who) {
  if (!t.defined()) return;
  if (t.shape() != shape || t.dtype() != input.dtype())
    fail("{}: expected {} {}{} (input {}), got {}", who, what, dtype_name(input.dtype()), shape_str(shape),
         describe(input), describe(t));
}

Tensor standardize_rows(const Tensor& x, std::int64_t rows, double eps) {
  if (x.numel() == 0) return x * 1.0;  // nothing to normalise (normalize_rows wants non-empty rows)
  return std::get<0>(normalize_rows(x, rows, eps));
}

Tensor channel_affine(Tensor y, const Tensor& weight, const Tensor& bias) {
  if (!weight.defined() && !bias.defined()) return y;
  Shape s(static_cast<std::size_t>(y.dim()), 1);
  s[1] = y.size(1);
  if (weight.defined()) y = y * reshape(weight, s);
  if (bias.defined()) y = y + reshape(bias, s);
  return y;
}

}  // namespace detail

namespace {

Tensor layer_norm_impl(const Tensor& input, const std::vector<std::int64_t>& normalized_shape, const Tensor& weight,
                       const Tensor& bias, double eps, const char* who) {
  detail::check_norm_input(input, who);
  const auto k = static_cast<std::int64_t>(normalized_shape.size());
  const Shape want(normalized_shape);
  bool ok = k > 0 && input.dim() >= k;
  for (std::int64_t i = 0; ok && i < k; ++i) ok = input.size(input.dim() - k + i) == normalized_shape[i];
  if (!ok)
    fail("{}: expected input [*, {}] (normalized_shape {}), got {}", who,
         shape_str(want).substr(1, shape_str(want).size() - 2), shape_str(want), describe(input));
  detail::check_affine(weight, "weight", want, input, who);
  detail::check_affine(bias, "bias", want, input, who);
  Tensor y = detail::standardize_rows(input, input.numel() / shape_numel(want), eps);
  if (weight.defined()) y = y * weight;
  if (bias.defined()) y = y + bias;
  return y;
}

Tensor group_norm_impl(const Tensor& input, std::int64_t groups, const Tensor& weight, const Tensor& bias, double eps,
                       const char* who, std::int64_t channels = -1) {
  detail::check_norm_input(input, who);
  if (groups <= 0) fail("{}: num_groups must be positive, got {}", who, groups);
  if (input.dim() < 2) fail("{}: expected input [N, C, *], got {}", who, describe(input));
  if (channels >= 0 && input.size(1) != channels)
    fail("{}: expected input [N, {}, *] ({} channels), got {}", who, channels, channels, describe(input));
  const std::int64_t c = input.size(1);
  if (c % groups != 0)
    fail("{}: the input's {} channels are not divisible into num_groups {} (input {})", who, c, groups,
         describe(input));
  detail::check_affine(weight, "weight", {c}, input, who);
  detail::check_affine(bias, "bias", {c}, input, who);
  const std::int64_t n = input.size(0);
  return detail::channel_affine(detail::standardize_rows(input, n * groups, eps), weight, bias);
}

}  // namespace

namespace functional {

Tensor layer_norm(const Tensor& input, const LayerNormFuncOptions& o) {
  return layer_norm_impl(input, o.normalized_shape(), o.weight(), o.bias(), o.eps(), "layer_norm");
}

Tensor group_norm(const Tensor& input, const GroupNormFuncOptions& o) {
  return group_norm_impl(input, o.num_groups(), o.weight(), o.bias(), o.eps(), "group_norm");
}

}  // namespace functional

LayerNormImpl::LayerNormImpl(const LayerNormOptions& o) : Module("LayerNorm"), options(o) {
  if (o.normalized_shape().empty()) fail("LayerNorm: normalized_shape must not be empty");
  for (auto s : o.normalized_shape())
    if (s <= 0) fail("LayerNorm: normalized_shape must hold positive sizes, got {}", shape_str(o.normalized_shape()));
  if (o.elementwise_affine()) {
    weight = register_parameter("weight", empty(o.normalized_shape(), o.dtype()));
    bias = register_parameter("bias", empty(o.normalized_shape(), o.dtype()));
    reset_parameters();
  }
}

void LayerNormImpl::reset_parameters() {
  if (!weight.defined()) return;
  init::ones_(weight);
  init::zeros_(bias);
}

Tensor LayerNormImpl::forward(const Tensor& input) const {
  return layer_norm_impl(input, options.normalized_shape(), weight, bias, options.eps(), "LayerNorm");
}

GroupNormImpl::GroupNormImpl(const GroupNormOptions& o) : Module("GroupNorm"), options(o) {
  if (o.num_groups() <= 0 || o.num_channels() <= 0 || o.num_channels() % o.num_groups() != 0)
    fail("GroupNorm: num_channels {} must be a positive multiple of num_groups {}", o.num_channels(), o.num_groups());
  if (o.affine()) {
    weight = register_parameter("weight", empty({o.num_channels()}, o.dtype()));
    bias = register_parameter("bias", empty({o.num_channels()}, o.dtype()));
    reset_parameters();
  }
}

void GroupNormImpl::reset_parameters() {
  if (!weight.defined()) return;
  init::ones_(weight);
  init::zeros_(bias);
}

Tensor GroupNormImpl::forward(const Tensor& input) const {
  return group_norm_impl(input, options.num_groups(), weight, bias, options.eps(), "GroupNorm", options.num_channels());
}

}  // namespace ag::nn
