// Parity with PyTorch 1.13 (float64) for convolution and pooling (autograd/ops/conv.h, pool.h, through
// nn::functional where libtorch users would call it): every entry of "conv_cases" in
// tests/data/torch_reference.json (made by tests/data/make_reference.py) is rebuilt here; its value and
// every gradient must match to 1e-10 relative (1e-12 absolute near 0).
#include "nn/nn.h"
#include "parity_util.h"
#include "test_util.h"

using namespace ag;
using json = nlohmann::json;
namespace F = ag::nn::functional;

namespace {

constexpr std::size_t kConvCases = 15;

using agt::parity::CaseFn;
using agt::parity::Inputs;
using agt::parity::reference;

const std::map<std::string, CaseFn>& conv_cases() {
  static const std::map<std::string, CaseFn> m = {
      {"conv2d_basic",
       [](const Inputs& in, const json&) { return sum(tanh(conv2d(in.at("x"), in.at("w"), in.at("b")))); }},
      {"conv2d_stride_pad_dilation",
       [](const Inputs& in, const json&) {
         return sum(
             tanh(F::conv2d(in.at("x"), in.at("w"),
                            F::Conv2dFuncOptions().bias(in.at("b")).stride({2, 1}).padding({1, 2}).dilation({2, 1}))));
       }},
      {"conv2d_groups_nobias",
       [](const Inputs& in, const json&) {
         return sum(tanh(F::conv2d(in.at("x"), in.at("w"), F::Conv2dFuncOptions().padding(1).groups(2))));
       }},
      {"conv2d_same",
       [](const Inputs& in, const json&) {
         return sum(tanh(F::conv2d(in.at("x"), in.at("w"),
                                   F::Conv2dFuncOptions().bias(in.at("b")).padding(kSame).dilation({1, 2}))));
       }},
      {"conv1d",
       [](const Inputs& in, const json&) { return sum(tanh(conv1d(in.at("x"), in.at("w"), in.at("b"), 2, 1, 2))); }},
      {"conv1d_same_groups",
       [](const Inputs& in, const json&) {
         return sum(tanh(F::conv1d(in.at("x"), in.at("w"), F::Conv1dFuncOptions().padding(kSame).groups(2))));
       }},
      {"unfold_fold",
       [](const Inputs& in, const json&) {
         const Tensor u = F::unfold(in.at("x"), F::UnfoldOptions({2, 3}).padding(1).stride({2, 1}));
         return sum(u * u) + sum(F::fold(in.at("c"), F::FoldOptions({5, 4}, {2, 2})) * in.at("w"));
       }},
      {"max_pool2d",
       [](const Inputs& in, const json&) {
         const Tensor y = F::max_pool2d(in.at("x"), F::MaxPool2dFuncOptions(3).stride(2).padding(1));
         return sum(y * y);
       }},
      {"max_pool2d_ceil_dilation",
       [](const Inputs& in, const json&) {
         const Tensor y = max_pool2d(in.at("x"), {2, 3}, 2, 1, {2, 1}, true);
         return sum(y * y);
       }},
      {"max_pool1d",
       [](const Inputs& in, const json&) {
         const Tensor y = F::max_pool1d(in.at("x"), F::MaxPool1dFuncOptions(3).stride(2).padding(1));
         return sum(y * y);
       }},
      {"avg_pool2d_ceil_pad",
       [](const Inputs& in, const json&) {
         const Tensor y = F::avg_pool2d(in.at("x"), F::AvgPool2dFuncOptions(3).stride(2).padding(1).ceil_mode(true));
         return sum(y * y);
       }},
      {"avg_pool2d_exclude_pad",
       [](const Inputs& in, const json&) {
         const Tensor y = avg_pool2d(in.at("x"), {3, 2}, {2, 1}, 1, true, false);
         return sum(y * y);
       }},
      {"avg_pool1d",
       [](const Inputs& in, const json&) {
         const Tensor y =
             F::avg_pool1d(in.at("x"),
                           F::AvgPool1dFuncOptions(4).stride(3).padding(2).ceil_mode(true).count_include_pad(false));
         return sum(y * y);
       }},
      {"adaptive_avg_pool2d",
       [](const Inputs& in, const json&) {
         const Tensor y = F::adaptive_avg_pool2d(in.at("x"), F::AdaptiveAvgPool2dFuncOptions({3, 4}));
         return sum(y * y);
       }},
      {"small_lenet",
       [](const Inputs& in, const json&) {
         Tensor h = max_pool2d(relu(conv2d(in.at("x"), in.at("w1"), in.at("b1"))), 2);
         h = max_pool2d(relu(conv2d(h, in.at("w2"), in.at("b2"))), 2);
         return sum(tanh(matmul(reshape(h, {2, -1}), in.at("v"))));
       }},
  };
  return m;
}

}  // namespace

TEST_CASE("conv parity: every reference conv case has a C++ expression, and every expression a case") {
  agt::parity::check_coverage("conv_cases", conv_cases(), kConvCases);
}

TEST_CASE("conv parity: values and gradients of convolution and pooling match PyTorch") {
  const json& cs = reference().at("conv_cases");
  for (std::size_t i = 0; i < cs.size(); ++i) {
    const std::string name = cs[i].at("name");
    SUBCASE(name.c_str()) { agt::parity::run_case(cs[i], conv_cases()); }
  }
}
