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

namespace {

Tensor channel_dropout(const Tensor& x, double p, bool training, const char* who) {
  if (!x.defined()) fail("{}: the input is undefined", who);
  if (x.dim() != 3 && x.dim() != 4) fail("{}: expected input [N, C, H, W] (or [N, C, L]), got {}", who, describe(x));
  if (!(p >= 0 && p <= 1)) fail("{}: p must be in [0, 1], got {} for {}", who, p, describe(x));
  if (!training || p == 0) return x;
  if (p == 1) return x * 0.0;
  Shape mask(static_cast<std::size_t>(x.dim()), 1);
  mask[0] = x.size(0);
  mask[1] = x.size(1);
  Tensor keep = lt(rand(mask, x.dtype()), 1.0 - p);  // one draw per channel
  return x * (keep * (1.0 / (1.0 - p)));
}

}  // namespace

Dropout2dImpl::Dropout2dImpl(const Dropout2dOptions& o) : Module("Dropout2d"), options(o) {
  if (!(o.p() >= 0 && o.p() <= 1)) fail("Dropout2d: p must be in [0, 1], got {}", o.p());
}

Tensor Dropout2dImpl::forward(const Tensor& x) const {
  return channel_dropout(x, options.p(), is_training(), "Dropout2d");
}

Tensor dropout2d(const Tensor& x, double p, bool training) { return channel_dropout(x, p, training, "dropout2d"); }

namespace functional {

Tensor dropout2d(const Tensor& input, const Dropout2dFuncOptions& o) {
  return channel_dropout(input, o.p(), o.training(), "dropout2d");
}

}  // namespace functional

}  // namespace ag::nn
