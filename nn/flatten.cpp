#include "nn/flatten.h"

namespace ag::nn {

Tensor FlattenImpl::forward(const Tensor& input) const {
  if (!input.defined()) fail("Flatten: the input is undefined");
  const std::int64_t rank = std::max<std::int64_t>(input.dim(), 1);
  auto norm = [rank](std::int64_t d) { return d < 0 ? d + rank : d; };
  const std::int64_t s = norm(options.start_dim()), e = norm(options.end_dim());
  if (s < 0 || s >= rank || e < 0 || e >= rank || s > e)
    fail("Flatten: start_dim {} and end_dim {} do not select dims of the input {} (start_dim <= end_dim needed)",
         options.start_dim(), options.end_dim(), describe(input));
  return flatten(input, s, e);
}

Tensor UnflattenImpl::forward(const Tensor& input) const {
  if (!input.defined()) fail("Unflatten: the input is undefined");
  const std::int64_t rank = input.dim();
  const std::int64_t d = options.dim() < 0 ? options.dim() + rank : options.dim();
  const auto& sizes = options.sizes();
  if (d < 0 || d >= rank) fail("Unflatten: dim {} is not a dim of the input {}", options.dim(), describe(input));
  std::int64_t known = 1, inferred = -1;
  bool ok = !sizes.empty();
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == -1 && inferred < 0) inferred = static_cast<std::int64_t>(i);
    else if (sizes[i] < 0) ok = false;
    else known *= sizes[i];
  }
  const std::int64_t n = input.size(d);
  ok = ok && (inferred < 0 ? known == n : known != 0 && n % known == 0);
  if (!ok)
    fail("Unflatten: sizes {} do not multiply to the size {} of dim {} of the input {}", shape_str(sizes), n,
         options.dim(), describe(input));
  Shape out;
  for (std::int64_t i = 0; i < d; ++i) out.push_back(input.size(i));
  for (auto s : sizes) out.push_back(s == -1 ? n / known : s);
  for (std::int64_t i = d + 1; i < rank; ++i) out.push_back(input.size(i));
  return reshape(input, out);
}

}  // namespace ag::nn
