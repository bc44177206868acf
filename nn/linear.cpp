#include "nn/linear.h"

#include <cmath>

#include "autograd/ops/fused.h"
#include "nn/init.h"

namespace ag::nn {

LinearImpl::LinearImpl(const LinearOptions& o) : Module("Linear"), options_(o) {
  if (o.in_features() <= 0 || o.out_features() <= 0)
    fail("Linear: in_features and out_features must be positive, got {} and {}", o.in_features(), o.out_features());
  weight = register_parameter("weight", empty({o.out_features(), o.in_features()}, o.dtype()));
  if (o.bias()) bias = register_parameter("bias", empty({o.out_features()}, o.dtype()));
  reset_parameters();
}

void LinearImpl::reset_parameters() {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(options_.in_features()));
    init::uniform_(bias, -bound, bound);
  }
}

Tensor LinearImpl::forward(const Tensor& x) const {
  if (x.dim() == 0 || x.size(-1) != options_.in_features())
    fail("Linear: expected input [..., {}], got {}", options_.in_features(), describe(x));
  return linear(x, weight, bias);
}

}  // namespace ag::nn
