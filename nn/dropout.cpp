#include "nn/dropout.h"

namespace ag::nn {

DropoutImpl::DropoutImpl(const DropoutOptions& o) : Module("Dropout"), options(o) {
  if (!(o.p() >= 0 && o.p() <= 1)) fail("Dropout: p must be in [0, 1], got {}", o.p());
}

Tensor DropoutImpl::forward(const Tensor& x) const { return dropout(x, options.p(), is_training()); }

Tensor dropout(const Tensor& x, double p, bool training) {
  if (!(p >= 0 && p <= 1)) fail("dropout: p must be in [0, 1], got {} for {}", p, describe(x));
  if (!training || p == 0) return x;
  if (p == 1) return x * 0.0;
  Tensor keep = lt(rand(x.shape(), x.dtype()), 1.0 - p);  // 1 with probability 1-p
  return x * (keep * (1.0 / (1.0 - p)));
}

}  // namespace ag::nn
