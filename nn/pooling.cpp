#include "nn/pooling.h"

namespace ag::nn::functional {

Tensor max_pool1d(const Tensor& x, const MaxPool1dFuncOptions& o) {
  return ag::max_pool1d(x, o.kernel_size(), o.stride(), o.padding(), o.dilation(), o.ceil_mode());
}

Tensor max_pool2d(const Tensor& x, const MaxPool2dFuncOptions& o) {
  return ag::max_pool2d(x, o.kernel_size(), o.stride(), o.padding(), o.dilation(), o.ceil_mode());
}

std::tuple<Tensor, Tensor> max_pool1d_with_indices(const Tensor& x, const MaxPool1dFuncOptions& o) {
  return ag::max_pool1d_with_indices(x, o.kernel_size(), o.stride(), o.padding(), o.dilation(), o.ceil_mode());
}

std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const MaxPool2dFuncOptions& o) {
  return ag::max_pool2d_with_indices(x, o.kernel_size(), o.stride(), o.padding(), o.dilation(), o.ceil_mode());
}

Tensor avg_pool1d(const Tensor& x, const AvgPool1dFuncOptions& o) {
  return ag::avg_pool1d(x, o.kernel_size(), o.stride(), o.padding(), o.ceil_mode(), o.count_include_pad());
}

Tensor avg_pool2d(const Tensor& x, const AvgPool2dFuncOptions& o) {
  return ag::avg_pool2d(x, o.kernel_size(), o.stride(), o.padding(), o.ceil_mode(), o.count_include_pad());
}

Tensor adaptive_avg_pool1d(const Tensor& x, const AdaptiveAvgPool1dFuncOptions& o) {
  return ag::adaptive_avg_pool1d(x, o.output_size());
}

Tensor adaptive_avg_pool2d(const Tensor& x, const AdaptiveAvgPool2dFuncOptions& o) {
  return ag::adaptive_avg_pool2d(x, o.output_size());
}

}  // namespace ag::nn::functional
