// Convolution and pooling (autograd/ops/conv.h, pool.h; nn/conv.h, nn/pooling.h): values against
// direct loops, gradients to first and second order in float64, modules' shapes and initialisation,
// float32, and every error. PyTorch's values: tests/test_conv_parity.cpp.
#include <cmath>
#include <limits>

#include "nn/nn.h"
#include "test_util.h"

using namespace ag;
namespace F = ag::nn::functional;

namespace {

/// The 2-D convolution by its definition (float64), for x [N, C, H, W], w [O, C / g, kh, kw].
std::vector<double> direct_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, std::array<std::int64_t, 2> s,
                                  std::array<std::int64_t, 2> p, std::array<std::int64_t, 2> d, std::int64_t groups,
                                  std::int64_t& oh, std::int64_t& ow) {
  const auto xv = x.to_vector<double>(), wv = w.to_vector<double>();
  const auto n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  const auto o = w.size(0), cg = w.size(1), kh = w.size(2), kw = w.size(3);
  oh = (h + 2 * p[0] - d[0] * (kh - 1) - 1) / s[0] + 1;
  ow = (wd + 2 * p[1] - d[1] * (kw - 1) - 1) / s[1] + 1;
  std::vector<double> y(static_cast<std::size_t>(n * o * oh * ow));
  const auto og = o / groups;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t q = 0; q < o; ++q)
      for (std::int64_t r = 0; r < oh; ++r)
        for (std::int64_t t = 0; t < ow; ++t) {
          double acc = b.defined() ? b.to_vector<double>()[static_cast<std::size_t>(q)] : 0.0;
          for (std::int64_t ci = 0; ci < cg; ++ci)
            for (std::int64_t a = 0; a < kh; ++a)
              for (std::int64_t e = 0; e < kw; ++e) {
                const auto rr = r * s[0] - p[0] + a * d[0], cc = t * s[1] - p[1] + e * d[1];
                if (rr < 0 || rr >= h || cc < 0 || cc >= wd) continue;
                const auto ch = q / og * cg + ci;
                acc += xv[static_cast<std::size_t>(((i * c + ch) * h + rr) * wd + cc)] *
                       wv[static_cast<std::size_t>(((q * cg + ci) * kh + a) * kw + e)];
              }
          y[static_cast<std::size_t>(((i * o + q) * oh + r) * ow + t)] = acc;
        }
  (void)c;
  return y;
}

}  // namespace

TEST_CASE("conv2d: values equal the direct definition (stride, padding, dilation, groups, bias)") {
  struct Cfg {
    Shape x, w;
    std::array<std::int64_t, 2> s, p, d;
    std::int64_t g;
    bool bias;
  };
  for (const Cfg& cfg : {Cfg{{2, 3, 6, 5}, {4, 3, 3, 2}, {1, 1}, {0, 0}, {1, 1}, 1, true},
                         Cfg{{1, 2, 7, 8}, {3, 2, 3, 3}, {2, 1}, {1, 2}, {2, 1}, 1, true},
                         Cfg{{2, 4, 5, 5}, {6, 2, 2, 3}, {1, 2}, {1, 1}, {1, 1}, 2, false},
                         Cfg{{1, 6, 4, 4}, {6, 1, 3, 3}, {1, 1}, {1, 1}, {1, 1}, 6, true}}) {
    const Tensor x = agt::input(cfg.x, 1.0, 1.0, 0.0, false), w = agt::input(cfg.w, 2.0, 0.5, 0.0, false);
    const Tensor b = cfg.bias ? agt::input({cfg.w[0]}, 3.0, 1.0, 0.0, false) : Tensor();
    std::int64_t oh = 0, ow = 0;
    const auto want = direct_conv2d(x, w, b, cfg.s, cfg.p, cfg.d, cfg.g, oh, ow);
    const Tensor y = conv2d(x, w, b, cfg.s, cfg.p, cfg.d, cfg.g);
    CHECK(y.shape() == Shape{cfg.x[0], cfg.w[0], oh, ow});
    agt::check_values(y, want, 1e-12);
    // float32 computes the same to float precision
    const Tensor y32 =
        conv2d(x.to(kFloat32), w.to(kFloat32), b.defined() ? b.to(kFloat32) : Tensor(), cfg.s, cfg.p, cfg.d, cfg.g);
    CHECK(y32.dtype() == kFloat32);
    agt::check_values(y32.to(kFloat64), want, 1e-4);
  }
}

TEST_CASE("conv2d and conv1d: gradients to first and second order") {
  const Tensor x = agt::input({2, 4, 5, 6}, 1.0), w = agt::input({6, 2, 2, 3}, 2.0, 0.5), b = agt::input({6}, 3.0);
  SUBCASE("stride, padding, dilation, groups, bias") {
    agt::check_both_orders(
        [](const std::vector<Tensor>& v) {
          return conv2d(v[0], v[1], v[2], {2, 1}, {1, 2}, {1, 2}, 2);
        },
        {x, w, b});
  }
  SUBCASE("no bias, padding same (odd total)") {
    const Tensor w1 = agt::input({3, 4, 2, 3}, 2.0, 0.5);
    agt::check_both_orders([](const std::vector<Tensor>& v) { return conv2d(v[0], v[1], Tensor(), 1, "same"); },
                           {x, w1});
  }
  SUBCASE("conv1d") {
    const Tensor x1 = agt::input({2, 4, 9}, 1.0), w1 = agt::input({6, 2, 3}, 2.0, 0.5);
    agt::check_both_orders([](const std::vector<Tensor>& v) { return conv1d(v[0], v[1], v[2], 2, 1, 2, 2); },
                           {x1, w1, b});
    agt::check_both_orders([](const std::vector<Tensor>& v) { return conv1d(v[0], v[1], Tensor(), 1, "same"); },
                           {x1, agt::input({3, 4, 4}, 2.0, 0.5)});
  }
  SUBCASE("1x1 kernel (the GEMMs read x directly), groups, 5 samples (the weight gradient's split)") {
    const Tensor x5 = agt::input({5, 4, 3, 2}, 1.0), w11 = agt::input({2, 2, 1, 1}, 2.0, 0.5);
    std::int64_t oh = 0, ow = 0;
    agt::check_values(conv2d(x5, w11, Tensor(), 1, 0, 1, 2),
                      direct_conv2d(x5, w11, Tensor(), {1, 1}, {0, 0}, {1, 1}, 2, oh, ow), 1e-12);
    agt::check_both_orders([](const std::vector<Tensor>& v) { return conv2d(v[0], v[1], v[2], 1, 0, 1, 2); },
                           {x5, w11, agt::input({2}, 3.0)});
    agt::check_both_orders([](const std::vector<Tensor>& v) { return conv2d(v[0], v[1], Tensor(), 2, 1); },
                           {x5, agt::input({3, 4, 2, 2}, 2.0, 0.5)});
  }
  SUBCASE("unbatched input") {
    const Tensor xu = agt::input({4, 5, 6}, 1.0);
    const Tensor y = conv2d(xu, w, b, 1, 0, 1, 2);
    CHECK(y.shape() == Shape{6, 4, 4});
    agt::check_values(y, conv2d(unsqueeze(xu, 0), w, b, 1, 0, 1, 2).to_vector<double>(), 1e-15);
    agt::check_gradients([&](const std::vector<Tensor>& v) { return conv2d(v[0], v[1], Tensor(), 1, 0, 1, 2); },
                         {xu, w});
  }
}

TEST_CASE("im2col and col2im: adjoint values and gradients to second order") {
  const Tensor x = agt::input({2, 2, 4, 5}, 1.0);
  const Tensor u = im2col(x, {2, 3}, 1, 1, {2, 1});
  CHECK(u.shape() == Shape{2, 12, 3 * 5});
  // <im2col(x), c> = <x, col2im(c)>
  const Tensor c = agt::input(u.shape(), 4.0, 1.0, 0.0, false);
  const double lhs = sum(u * c).item<double>();
  const double rhs = sum(x * col2im(c, {4, 5}, {2, 3}, 1, 1, {2, 1})).item<double>();
  CHECK(lhs == doctest::Approx(rhs).epsilon(1e-12));
  // one entry by hand: column 0 is the window at (-1, -1): element (0, a=1, b=1) is x[0, 0, 0, 0]
  CHECK(u.to_vector<double>()[static_cast<std::size_t>(4 * 15)] == doctest::Approx(x.to_vector<double>()[0]));
  agt::check_both_orders([](const std::vector<Tensor>& v) { return im2col(v[0], {2, 3}, {1, 2}, 1, {2, 1}); }, {x});
  agt::check_both_orders(
      [](const std::vector<Tensor>& v) {
        return col2im(v[0], {4, 5}, {2, 2}, 1, 0, 1);
      },
      {agt::input({1, 8, 12}, 2.0)});
}

TEST_CASE("max_pool2d: values, indices, gradients to second order") {
  const Tensor x = tensor({1.0, 5.0, 2.0, 0.0, 3.0, 4.0, 9.0, 8.0, 7.0, 6.0, -1.0, -2.0}, {1, 1, 3, 4}, kFloat64);
  auto [y, idx] = max_pool2d_with_indices(x, 2);
  CHECK(y.shape() == Shape{1, 1, 1, 2});
  agt::check_values(y, {5.0, 9.0});
  CHECK(idx.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 6});
  // ceil_mode keeps the partial windows; padding is -inf
  agt::check_values(max_pool2d(x, 2, 2, 0, 1, true), {5.0, 9.0, 7.0, -1.0});
  agt::check_values(max_pool2d(-x, 2, 2, 1), {-1.0, -2.0, 0.0, -3.0, 1.0, 2.0});
  CHECK(max_pool2d(x, 3, 1).shape() == Shape{1, 1, 1, 2});
  // NaN propagates
  const Tensor xn = tensor({1.0, std::nan(""), 2.0, 3.0}, {1, 1, 2, 2}, kFloat64);
  CHECK(std::isnan(max_pool2d(xn, 2).to_vector<double>()[0]));
  const Tensor xg = agt::input({2, 3, 7, 6}, 1.0);
  agt::check_both_orders([](const std::vector<Tensor>& v) { return max_pool2d(v[0], 3, 2, 1); }, {xg});
  agt::check_both_orders(
      [](const std::vector<Tensor>& v) {
        return max_pool2d(v[0], {2, 3}, 2, 1, {2, 1}, true);
      },
      {xg});
  agt::check_both_orders([](const std::vector<Tensor>& v) { return max_pool1d(v[0], 3, 2, 1, 1, true); },
                         {agt::input({2, 3, 10}, 1.0)});
  // float32
  const Tensor y32 = max_pool2d(xg.detach().to(kFloat32), 3, 2, 1);
  agt::check_values(y32.to(kFloat64), max_pool2d(xg.detach(), 3, 2, 1).to_vector<double>(), 1e-6);
}

TEST_CASE("avg_pool and adaptive_avg_pool: values, gradients to second order") {
  const Tensor x = tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0}, {1, 1, 3, 3}, kFloat64);
  agt::check_values(avg_pool2d(x, 2, 1), {3.0, 4.0, 6.0, 7.0});
  // padding 1: count_include_pad divides by 4, otherwise by the elements inside
  agt::check_values(avg_pool2d(x, 2, 2, 1), {1.0 / 4, 5.0 / 4, 11.0 / 4, 28.0 / 4});
  agt::check_values(avg_pool2d(x, 2, 2, 1, false, false), {1.0, 2.5, 5.5, 7.0});
  agt::check_values(avg_pool2d(x, 2, 2, 0, true), {3.0, 4.5, 7.5, 9.0});
  agt::check_values(adaptive_avg_pool2d(x, 1), {5.0});
  agt::check_values(adaptive_avg_pool2d(x, 2), {3.0, 4.0, 6.0, 7.0});
  agt::check_values(adaptive_avg_pool1d(tensor({1.0, 2.0, 3.0, 4.0, 5.0}, {1, 5}, kFloat64), 3), {1.5, 3.0, 4.5});
  const Tensor xg = agt::input({2, 2, 7, 6}, 1.0);
  agt::check_both_orders([](const std::vector<Tensor>& v) { return avg_pool2d(v[0], 3, 2, 1, true); }, {xg});
  agt::check_both_orders(
      [](const std::vector<Tensor>& v) {
        return avg_pool2d(v[0], {3, 2}, {2, 1}, 1, true, false);
      },
      {xg});
  agt::check_both_orders([](const std::vector<Tensor>& v) { return avg_pool1d(v[0], 4, 3, 2, true, false); },
                         {agt::input({2, 3, 9}, 1.0)});
  agt::check_both_orders([](const std::vector<Tensor>& v) { return adaptive_avg_pool2d(v[0], {3, 4}); }, {xg});
  agt::check_both_orders([](const std::vector<Tensor>& v) { return adaptive_avg_pool1d(v[0], 4); },
                         {agt::input({2, 3, 9}, 1.0)});
  const Tensor y32 = avg_pool2d(xg.detach().to(kFloat32), 3, 2, 1, true);
  agt::check_values(y32.to(kFloat64), avg_pool2d(xg.detach(), 3, 2, 1, true).to_vector<double>(), 1e-6);
}

TEST_CASE("nn::Conv1d, Conv2d: parameter shapes, libtorch's initialisation bounds, output shapes") {
  manual_seed(3);
  nn::Conv2d conv(nn::Conv2dOptions(4, 6, {3, 2}).stride(2).padding({1, 0}).groups(2));
  CHECK(conv->weight.shape() == Shape{6, 2, 3, 2});
  CHECK(conv->bias.shape() == Shape{6});
  CHECK(conv->parameters().size() == 2);
  const double bound = 1.0 / std::sqrt(2.0 * 3 * 2);  // kaiming_uniform a = sqrt(5): 1 / sqrt(fan_in)
  CHECK(max(abs(conv->weight)).item<float>() <= bound + 1e-6);
  CHECK(max(abs(conv->bias)).item<float>() <= bound + 1e-6);
  CHECK(max(abs(conv->weight)).item<float>() > bound / 2);
  CHECK(conv(randn({5, 4, 9, 8})).shape() == Shape{5, 6, 5, 4});
  CHECK(conv(randn({4, 9, 8})).shape() == Shape{6, 5, 4});
  nn::Conv2d same(nn::Conv2dOptions(3, 2, 4).padding(kSame).bias(false));
  CHECK(!same->bias.defined());
  CHECK(same->parameters().size() == 1);
  CHECK(same(randn({1, 3, 7, 6})).shape() == Shape{1, 2, 7, 6});
  nn::Conv2d valid(nn::Conv2dOptions(3, 2, 3).padding(kValid).dilation(2));
  CHECK(valid(randn({1, 3, 7, 6})).shape() == Shape{1, 2, 3, 2});
  nn::Conv1d c1(nn::Conv1dOptions(3, 5, 3).stride(2).padding(1).dtype(kFloat64));
  CHECK(c1->weight.shape() == Shape{5, 3, 3});
  CHECK(c1->weight.dtype() == kFloat64);
  const Tensor y = c1(randn({2, 3, 10}, kFloat64));
  CHECK(y.shape() == Shape{2, 5, 5});
  // the module equals the functional form with its parameters
  const Tensor x = randn({2, 3, 10}, kFloat64);
  agt::check_values(c1(x), conv1d(x, c1->weight, c1->bias, 2, 1).to_vector<double>(), 1e-15);
  // a backward reaches the parameters
  sum(c1(x)).backward();
  CHECK(c1->weight.grad().shape() == Shape{5, 3, 3});
  CHECK(c1->bias.grad().shape() == Shape{5});
}

TEST_CASE("nn pooling modules: output shapes") {
  const Tensor x = randn({2, 3, 9, 8});
  CHECK(nn::MaxPool2d(nn::MaxPool2dOptions(2))(x).shape() == Shape{2, 3, 4, 4});
  CHECK(nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1).ceil_mode(true))(x).shape() == Shape{2, 3, 5, 5});
  CHECK(nn::MaxPool2d(nn::MaxPool2dOptions({2, 3}).dilation(2))(x).shape() == Shape{2, 3, 4, 2});
  CHECK(nn::AvgPool2d(nn::AvgPool2dOptions(2))(x).shape() == Shape{2, 3, 4, 4});
  CHECK(nn::AvgPool2d(nn::AvgPool2dOptions(3).stride(1).padding(1).count_include_pad(false))(x).shape() ==
        Shape{2, 3, 9, 8});
  CHECK(nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions({1, 1}))(x).shape() == Shape{2, 3, 1, 1});
  CHECK(nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions(5))(x).shape() == Shape{2, 3, 5, 5});
  const Tensor x1 = randn({2, 3, 11});
  CHECK(nn::MaxPool1d(nn::MaxPool1dOptions(2))(x1).shape() == Shape{2, 3, 5});
  CHECK(nn::AvgPool1d(nn::AvgPool1dOptions(3).stride(2))(x1).shape() == Shape{2, 3, 5});
  CHECK(nn::AdaptiveAvgPool1d(nn::AdaptiveAvgPool1dOptions(4))(x1).shape() == Shape{2, 3, 4});
  CHECK(nn::MaxPool2d(nn::MaxPool2dOptions(2))(randn({3, 9, 8})).shape() == Shape{3, 4, 4});
  auto [y, idx] = F::max_pool2d_with_indices(x, F::MaxPool2dFuncOptions(2));
  CHECK(idx.dtype() == kInt64);
  CHECK(idx.shape() == y.shape());
  // in a Sequential
  nn::Sequential net(nn::Conv2d(nn::Conv2dOptions(3, 4, 3)), nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)));
  CHECK(net->forward(x).shape() == Shape{2, 4, 3, 3});
}

TEST_CASE("convolution and pooling errors: ag::Error naming the op and shapes, nothing recorded") {
  const Tensor w = randn({4, 3, 3, 3}).requires_grad_();
  const std::size_t nodes = Tape::current().num_nodes();
  auto msg = [](const std::function<void()>& f) { return agt::error_message(f); };
  // wrong rank
  CHECK(msg([&] { conv2d(randn({3, 8}), w); }).find("conv2d: expected input [N, C, H, W]") != std::string::npos);
  CHECK(msg([&] { conv2d(randn({1, 3, 8, 8}), randn({4, 3, 3})); }).find("expected weight") != std::string::npos);
  // channels
  const std::string ch = msg([&] { conv2d(randn({1, 2, 8, 8}), w); });
  CHECK(ch.find("expected input with 3 channels") != std::string::npos);
  CHECK(ch.find("[1, 2, 8, 8]") != std::string::npos);
  // groups
  CHECK(msg([&] {
          conv2d(randn({1, 6, 8, 8}), randn({4, 3, 3, 3}), Tensor(), 1, 0, 1, 3);
        }).find("not divisible by groups 3") != std::string::npos);
  CHECK(msg([&] { nn::Conv2d(nn::Conv2dOptions(3, 4, 3).groups(2)); }).find("divisible by groups") !=
        std::string::npos);
  // kernel larger than the padded input
  const std::string big = msg([&] { conv2d(randn({1, 3, 2, 8}), w); });
  CHECK(big.find("kernel size 3") != std::string::npos);
  CHECK(big.find("larger than the padded input size 2") != std::string::npos);
  CHECK(msg([&] { conv2d(randn({1, 3, 1, 8}), w, Tensor(), 1, 1); }).empty());  // padded to 3: fits
  CHECK(msg([&] {
          max_pool2d(randn({1, 3, 2, 2}), 3);
        }).find("max_pool2d: kernel size 3 is larger") != std::string::npos);
  // strides and others
  CHECK(msg([&] {
          conv2d(randn({1, 3, 8, 8}), w, Tensor(), 0);
        }).find("stride must be positive, got 0") != std::string::npos);
  CHECK(msg([&] { conv2d(randn({1, 3, 8, 8}), w, Tensor(), 2, "same"); }).find("strided") != std::string::npos);
  CHECK(msg([&] {
          conv2d(randn({1, 3, 8, 8}), w, Tensor(), 1, "full");
        }).find("\"same\" or \"valid\"") != std::string::npos);
  CHECK(msg([&] { conv2d(randn({1, 3, 8, 8}), w, randn({3})); }).find("expected bias [4]") != std::string::npos);
  CHECK(msg([&] { conv2d(randn({1, 3, 8, 8}, kFloat64), w); }).find("dtype mismatch") != std::string::npos);
  CHECK(msg([&] { max_pool2d(randn({1, 3, 8, 8}), 2, 0); }).find("stride 0") != std::string::npos);
  CHECK(msg([&] {
          max_pool2d(randn({1, 3, 8, 8}), 2, 2, 2);
        }).find("at most half the kernel size") != std::string::npos);
  CHECK(msg([&] {
          avg_pool2d(randn({8, 8}), 2);
        }).find("avg_pool2d: expected input [N, C, H, W] or [C, H, W]") != std::string::npos);
  CHECK(msg([&] {
          adaptive_avg_pool2d(randn({1, 3, 8, 8}), 0);
        }).find("output size must be positive") != std::string::npos);
  CHECK(msg([&] {
          max_pool1d(randn({2, 3, 8, 8}), 2);
        }).find("max_pool1d: expected input [N, C, L]") != std::string::npos);
  CHECK(msg([&] { col2im(randn({1, 7, 12}), {5, 4}, {2, 2}); }).find("col2im") != std::string::npos);
  // module-level: names the layer and its in_channels
  nn::Conv2d conv(nn::Conv2dOptions(3, 4, 3));
  const std::string m = msg([&] { conv(randn({1, 5, 8, 8})); });
  CHECK(m.find("Conv2d: expected input [N, 3, H, W] or [3, H, W], got") != std::string::npos);
  CHECK(msg([&] { nn::Conv1d(nn::Conv1dOptions(3, 4, 3))(randn({1, 3, 8, 8})); }).find("Conv1d") != std::string::npos);
  CHECK(msg([&] { nn::Conv2d(nn::Conv2dOptions(3, 4, 3).stride(2).padding(kSame)); }).find("strided") !=
        std::string::npos);
  CHECK(Tape::current().num_nodes() == nodes);
  CHECK(!w.grad().defined());
}

TEST_CASE("conv2d and pooling: values and gradients do not depend on the thread count") {
  const int before = get_num_threads();
  auto run = [](int threads) {
    set_num_threads(threads);
    manual_seed(11);
    const Tensor x = randn({16, 4, 20, 20}).requires_grad_(), w = randn({8, 2, 3, 3}).requires_grad_();
    const Tensor b = randn({8}).requires_grad_();
    const Tensor y = max_pool2d(relu(conv2d(x, w, b, 1, 1, 1, 2)), 2) + avg_pool2d(conv2d(x, w, b, 1, 1, 1, 2), 2);
    const auto g = ag::grad({sum(y * y)}, {x, w, b});
    std::vector<std::vector<float>> out{y.to_vector<float>()};
    for (const Tensor& t : g) out.push_back(t.to_vector<float>());
    return out;
  };
  const auto one = run(1), two = run(2);
  set_num_threads(before);
  REQUIRE(one.size() == two.size());
  for (std::size_t i = 0; i < one.size(); ++i) CHECK(one[i] == two[i]);
}

TEST_CASE("conv2d and pooling, forward mode: JVPs of conv2d, its backward ops (forward over reverse) and pooling") {
  namespace fw = ag::autograd::forward_ad;
  const Tensor x = agt::input({2, 4, 5, 6}, 1.0), w = agt::input({6, 2, 2, 3}, 2.0, 0.5), b = agt::input({6}, 3.0);
  // conv2d on a batched input is the op itself (no view around it)
  agt::check_gradients([](const auto& v) { return conv2d(v[0], v[1], v[2], {2, 1}, {1, 2}, {1, 2}, 2); }, {x, w, b});
  agt::check_gradients([](const auto& v) { return conv2d(v[0], v[1], Tensor(), 1, 0, 1, 2); }, {x, w});
  // forward over reverse: the input and weight gradients of a conv (conv2d_backward_input and
  // conv2d_backward_weight) as functions of x, w and the output gradient u
  const Tensor u = agt::input({2, 6, 4, 4}, 0.7);
  for (int k = 0; k < 2; ++k) {
    CAPTURE(k);
    agt::check_gradients(
        [k](const auto& v) {
          AutoGradMode on(true);  // the finite differences' evaluations get plain inputs
          std::vector<Tensor> in = v;
          if (!in[k].requires_grad()) in[k] = in[k].detach().requires_grad_();
          const Tensor y = conv2d(in[0], in[1], Tensor(), 1, 0, 1, 2);
          return grad({y}, {in[k]}, {in[2]}, true, true)[0];
        },
        {x, w, u});
  }
  // average pooling of a batched input: the op itself
  agt::check_gradients([](const auto& v) { return avg_pool2d(v[0], 3, 2, 1, true, false); }, {x});
  agt::check_gradients([](const auto& v) { return adaptive_avg_pool2d(v[0], {3, 4}); }, {x});
  // max pooling without recording: the tangent gathered at the argmax
  const Tensor xp = agt::input({2, 3, 7, 6}, 1.0, 1.0, 0.0, false), tp = agt::input({2, 3, 7, 6}, 2.5, 1.0, 0.0, false);
  fw::dual_level level;
  auto [y, idx] = max_pool2d_with_indices(fw::make_dual(xp, tp), 3, 2, 1);
  const Tensor t = fw::unpack_dual(y).tangent;
  REQUIRE(t.defined());
  const auto tv = tp.to_vector<double>(), got = t.to_vector<double>();
  const auto iv = idx.to_vector<std::int64_t>();
  const std::int64_t plane = 7 * 6, out_plane = y.size(2) * y.size(3);
  for (std::size_t k = 0; k < got.size(); ++k)
    CHECK(got[k] == tv[static_cast<std::size_t>(static_cast<std::int64_t>(k) / out_plane * plane + iv[k])]);
}

TEST_CASE("conv2d, reverse over forward: the JVP rule is differentiable in the primals and the tangents") {
  namespace fw = ag::autograd::forward_ad;
  const Tensor x = agt::input({2, 4, 5, 6}, 1.0), w = agt::input({6, 2, 2, 3}, 2.0, 0.5), b = agt::input({6}, 3.0);
  const Tensor tx = agt::input({2, 4, 5, 6}, 1.7), tw = agt::input({6, 2, 2, 3}, 0.4, 0.5), tb = agt::input({6}, 0.9);
  agt::check_gradients_reverse_only(
      [](const auto& v) {
        fw::dual_level level;
        const Tensor y = conv2d(fw::make_dual(v[0], v[3]), fw::make_dual(v[1], v[4]), fw::make_dual(v[2], v[5]), {2, 1},
                                {1, 2}, {1, 2}, 2);
        return fw::unpack_dual(y).tangent;
      },
      {x, w, b, tx, tw, tb});
}
