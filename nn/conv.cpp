#include "nn/conv.h"

#include <cmath>
#include <string>

#include "nn/init.h"

namespace ag::nn {

namespace {

template <std::size_t D>
std::string dims_str() {
  return D == 1 ? "L" : "H, W";
}

template <std::size_t D>
Tensor conv(const Tensor& x, const Tensor& w, const Tensor& b, const ExpandingArray<D>& s, const ConvPadding<D>& p,
            const ExpandingArray<D>& d, std::int64_t groups) {
  if (const auto* sizes = std::get_if<ExpandingArray<D>>(&p)) {
    if constexpr (D == 1) return ag::conv1d(x, w, b, s, *sizes, d, groups);
    else return ag::conv2d(x, w, b, s, *sizes, d, groups);
  }
  const char* mode = std::holds_alternative<enumtype::kSame>(p) ? "same" : "valid";
  if constexpr (D == 1) return ag::conv1d(x, w, b, s, mode, d, groups);
  else return ag::conv2d(x, w, b, s, mode, d, groups);
}

}  // namespace

template <std::size_t D>
ConvNdImpl<D>::ConvNdImpl(const ConvOptions<D>& o) : Module(D == 1 ? "Conv1d" : "Conv2d"), options_(o) {
  const char* name = D == 1 ? "Conv1d" : "Conv2d";
  if (o.in_channels() <= 0 || o.out_channels() <= 0)
    fail("{}: in_channels and out_channels must be positive, got {} and {}", name, o.in_channels(), o.out_channels());
  if (o.groups() <= 0) fail("{}: groups must be positive, got {}", name, o.groups());
  if (o.in_channels() % o.groups() != 0 || o.out_channels() % o.groups() != 0)
    fail("{}: in_channels {} and out_channels {} must both be divisible by groups {}", name, o.in_channels(),
         o.out_channels(), o.groups());
  Shape ws{o.out_channels(), o.in_channels() / o.groups()};
  for (std::size_t i = 0; i < D; ++i) {
    if (o.kernel_size()[i] <= 0 || o.stride()[i] <= 0 || o.dilation()[i] <= 0)
      fail("{}: kernel size, stride and dilation must be positive, got kernel {}, stride {}, dilation {}", name,
           o.kernel_size()[i], o.stride()[i], o.dilation()[i]);
    ws.push_back(o.kernel_size()[i]);
  }
  if (std::holds_alternative<enumtype::kSame>(o.padding()))
    for (std::size_t i = 0; i < D; ++i)
      if (o.stride()[i] != 1)
        fail("{}: padding kSame is not supported for strided convolutions (stride {})", name, o.stride()[i]);
  weight = register_parameter("weight", empty(ws, o.dtype()));
  if (o.bias()) bias = register_parameter("bias", empty({o.out_channels()}, o.dtype()));
  reset_parameters();
}

template <std::size_t D>
void ConvNdImpl<D>::reset_parameters() {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const auto fan_in = init::calculate_fan_in_and_fan_out(weight).first;
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    init::uniform_(bias, -bound, bound);
  }
}

template <std::size_t D>
Tensor ConvNdImpl<D>::forward(const Tensor& x) const {
  const auto r = static_cast<std::int64_t>(D);
  const auto in = options_.in_channels();
  if (!x.defined() || (x.dim() != r + 1 && x.dim() != r + 2) || x.size(x.dim() - r - 1) != in)
    fail("{}: expected input [N, {}, {}] or [{}, {}], got {}", name(), in, dims_str<D>(), in, dims_str<D>(),
         x.defined() ? describe(x) : std::string("an undefined tensor"));
  return conv<D>(x, weight, bias, options_.stride(), options_.padding(), options_.dilation(), options_.groups());
}

template class ConvNdImpl<1>;
template class ConvNdImpl<2>;

namespace functional {

Tensor conv1d(const Tensor& x, const Tensor& w, const Conv1dFuncOptions& o) {
  return conv<1>(x, w, o.bias(), o.stride(), o.padding(), o.dilation(), o.groups());
}

Tensor conv2d(const Tensor& x, const Tensor& w, const Conv2dFuncOptions& o) {
  return conv<2>(x, w, o.bias(), o.stride(), o.padding(), o.dilation(), o.groups());
}

Tensor unfold(const Tensor& x, const UnfoldOptions& o) {
  return im2col(x, o.kernel_, o.dilation_, o.padding_, o.stride_);
}

Tensor fold(const Tensor& x, const FoldOptions& o) {
  return col2im(x, o.output_, o.kernel_, o.dilation_, o.padding_, o.stride_);
}

}  // namespace functional

}  // namespace ag::nn
