// LayerNorm, GroupNorm and BatchNorm (nn/normalization.h, nn/batchnorm.h): values by hand, float64
// gradchecks (first and second order: they are composed of ops), train / eval behaviour, running
// statistics and their buffers, float32, and misuse (errors that record nothing and change nothing).
// PyTorch parity is in test_nn_norm_parity.cpp.
#include <cmath>

#include "nn/nn.h"
#include "test_util.h"

using namespace ag;
namespace F = ag::nn::functional;

namespace {

Tensor f64(std::initializer_list<double> v, const Shape& s) { return tensor(v, s, kFloat64); }

// The error of f, with a check that it recorded nothing.
std::string error_recording_nothing(const std::function<void()>& f) {
  const auto before = Tape::current().num_nodes();
  const std::string msg = agt::error_message(f);
  CHECK(Tape::current().num_nodes() == before);
  return msg;
}

}  // namespace

TEST_CASE("layer_norm: values by hand, affine, and the module's parameters") {
  const Tensor x = f64({1, 2, 3, 4, 2, 2, 2, 6}, {2, 4});
  // row 0: mean 2.5, biased var 1.25; row 1: mean 3, var 3.
  const Tensor y = F::layer_norm(x, F::LayerNormFuncOptions({4}).eps(0.0));
  const double a = 1 / std::sqrt(1.25), b = 1 / std::sqrt(3.0);
  agt::check_values(y, {-1.5 * a, -0.5 * a, 0.5 * a, 1.5 * a, -b, -b, -b, 3 * b});
  const Tensor w = f64({1, 2, 3, 4}, {4}), bias = f64({0, 0, 0, 1}, {4});
  const Tensor ya = F::layer_norm(x, F::LayerNormFuncOptions({4}).eps(0.0).weight(w).bias(bias));
  agt::check_values(ya, {-1.5 * a, -1.0 * a, 1.5 * a, 6 * a + 1, -b, -2 * b, -3 * b, 12 * b + 1});

  nn::LayerNorm ln(nn::LayerNormOptions({3, 4}).dtype(kFloat64));
  CHECK(ln->weight.shape() == Shape{3, 4});
  CHECK(ln->named_parameters().keys() == std::vector<std::string>{"weight", "bias"});
  agt::check_values(ln->weight, std::vector<double>(12, 1.0));
  const Tensor z = ln(agt::input({2, 3, 4}, 0.1, 2.0, 1.0, false));
  CHECK(z.shape() == Shape{2, 3, 4});
  CHECK(mean(z).item<double>() == doctest::Approx(0.0).epsilon(1e-12));
  nn::LayerNorm plain(nn::LayerNormOptions({4}).elementwise_affine(false));
  CHECK(plain->parameters().empty());
  CHECK(plain(agt::input({3, 4}).to(kFloat32)).dtype() == kFloat32);
}

TEST_CASE("layer_norm and group_norm: float64 gradchecks of input, weight and bias, to second order") {
  const Tensor x = agt::input({2, 3, 4}, 0.2, 1.5, 0.1), w = agt::input({3, 4}, 0.7, 0.5, 1.0),
               b = agt::input({3, 4}, 1.3);
  agt::check_both_orders(
      [](const std::vector<Tensor>& v) {
        return F::layer_norm(v[0], F::LayerNormFuncOptions({3, 4}).weight(v[1]).bias(v[2]));
      },
      {x, w, b});
  agt::check_both_orders([](const std::vector<Tensor>& v) { return F::layer_norm(v[0], F::LayerNormFuncOptions({4})); },
                         {x});
  const Tensor g = agt::input({2, 4, 3}, 0.4, 1.2), gw = agt::input({4}, 0.9, 0.5, 1.0), gb = agt::input({4}, 1.7);
  agt::check_both_orders(
      [](const std::vector<Tensor>& v) {
        return F::group_norm(v[0], F::GroupNormFuncOptions(2).weight(v[1]).bias(v[2]));
      },
      {g, gw, gb});
  // The modules are the functional forms with their own parameters.
  nn::GroupNorm gn(nn::GroupNormOptions(2, 4).dtype(kFloat64));
  agt::check_gradients([&](const std::vector<Tensor>& v) { return gn(v[0]); }, {g});
  {
    NoGradGuard no_grad;
    gn->weight.copy_(gw);
    gn->bias.copy_(gb);
  }
  agt::check_values(gn(g), F::group_norm(g, F::GroupNormFuncOptions(2).weight(gw).bias(gb)).to_vector<double>(), 1e-15);
  nn::LayerNorm ln(nn::LayerNormOptions({3, 4}).dtype(kFloat64));
  agt::check_gradients([&](const std::vector<Tensor>& v) { return ln(v[0]); }, {x});
}

TEST_CASE("group_norm: each sample's group is standardised; one group equals layer_norm over [C, *]") {
  const Tensor x = agt::input({2, 6, 5}, 0.3, 2.0, 0.5, false);
  const Tensor y = F::group_norm(x, F::GroupNormFuncOptions(3).eps(0.0));
  const Tensor groups = reshape(y, {2, 3, 10});
  for (double m : mean(groups, 2).to_vector<double>()) CHECK(std::abs(m) < 1e-12);
  for (double v : var(groups, 2, false).to_vector<double>()) CHECK(v == doctest::Approx(1.0).epsilon(1e-12));
  agt::check_values(F::group_norm(x, F::GroupNormFuncOptions(1)),
                    F::layer_norm(x, F::LayerNormFuncOptions({6, 5})).to_vector<double>(), 1e-12);
}

TEST_CASE("batch_norm: training uses the batch's biased variance and updates the running ones with the unbiased") {
  const Tensor x = f64({1, 10, 2, 20, 3, 30, 6, 40}, {4, 2});  // channel 0: 1 2 3 6; channel 1: 10 20 30 40
  Tensor rm = f64({0, 0}, {2}), rv = f64({1, 1}, {2});
  const Tensor y = F::batch_norm(x, rm, rv, F::BatchNormFuncOptions().training(true).eps(0.0));
  // channel 0: mean 3, biased var 3.5, unbiased 14/3; channel 1: mean 25, biased 125, unbiased 500/3
  const double s0 = 1 / std::sqrt(3.5), s1 = 1 / std::sqrt(125.0);
  agt::check_values(y, {-2 * s0, -15 * s1, -1 * s0, -5 * s1, 0, 5 * s1, 3 * s0, 15 * s1});
  agt::check_values(rm, {0.3, 2.5});
  agt::check_values(rv, {0.9 + 0.1 * 14.0 / 3.0, 0.9 + 0.1 * 500.0 / 3.0});
  CHECK(!rm.requires_grad());
  // Not training: the running statistics normalise.
  const Tensor e = F::batch_norm(x, f64({1, 10}, {2}), f64({4, 100}, {2}), F::BatchNormFuncOptions().eps(0.0));
  agt::check_values(e, {0, 0, 0.5, 1, 1, 2, 2.5, 3});
}

TEST_CASE("batch_norm: float64 gradchecks in training (through the statistics) and eval, to second order") {
  const Tensor x = agt::input({4, 3, 2}, 0.5, 1.5, 0.2), w = agt::input({3}, 0.1, 0.5, 1.0), b = agt::input({3}, 2.1);
  const Tensor rm = f64({0.1, -0.2, 0.3}, {3}), rv = f64({1.5, 0.5, 2.0}, {3});
  agt::check_both_orders(
      [](const std::vector<Tensor>& v) {
        return F::batch_norm(v[0], Tensor(), Tensor(),
                             F::BatchNormFuncOptions().weight(v[1]).bias(v[2]).training(true));
      },
      {x, w, b});
  agt::check_both_orders(
      [&](const std::vector<Tensor>& v) {
        return F::batch_norm(v[0], rm, rv, F::BatchNormFuncOptions().weight(v[1]).bias(v[2]));
      },
      {x, w, b});
  // Through the module in training: every call also updates the running statistics, which are not
  // differentiated (no gradient reaches them, and the output does not depend on them).
  for (auto rank : {2, 3}) {
    nn::BatchNorm1d m(nn::BatchNormOptions(3).dtype(kFloat64));
    const Tensor in = rank == 2 ? agt::input({5, 3}, 0.8) : agt::input({2, 3, 3}, 0.8);
    agt::check_gradients([&](const std::vector<Tensor>& v) { return m(v[0]); }, {in});
    CHECK(!m->running_mean.requires_grad());
    CHECK(!m->running_var.requires_grad());
    CHECK(!m->running_mean.grad().defined());
    CHECK(m->num_batches_tracked.item<std::int64_t>() > 0);
  }
  nn::BatchNorm2d m2(nn::BatchNormOptions(2).dtype(kFloat64));
  const Tensor x4 = agt::input({2, 2, 2, 3}, 1.1);
  agt::check_gradients([&](const std::vector<Tensor>& v) { return m2(v[0]); }, {x4});
  m2->eval();
  agt::check_gradients([&](const std::vector<Tensor>& v) { return m2(v[0]); }, {x4});
}

TEST_CASE("BatchNorm2d: buffers as libtorch, num_batches_tracked, momentum, eval and track_running_stats(false)") {
  nn::BatchNorm2d bn(nn::BatchNormOptions(2).momentum(0.5).dtype(kFloat64));
  CHECK(bn->named_buffers().keys() == std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"});
  CHECK(bn->named_parameters().keys() == std::vector<std::string>{"weight", "bias"});
  CHECK(bn->num_batches_tracked.dtype() == kInt64);
  CHECK(bn->is_training());
  const Tensor x = agt::input({3, 2, 2, 2}, 0.6, 2.0, 1.0, false);
  const Tensor y = bn(x);
  CHECK(bn->num_batches_tracked.item<std::int64_t>() == 1);
  // running = 0.5 * initial + 0.5 * batch statistic (unbiased variance, n = 12 per channel)
  const Tensor xt = reshape(permute(x, {1, 0, 2, 3}), {2, 12});
  agt::check_values(bn->running_mean, (0.5 * mean(xt, 1)).to_vector<double>(), 1e-12);
  agt::check_values(bn->running_var, (0.5 + 0.5 * var(xt, 1, true)).to_vector<double>(), 1e-12);
  // Training output: batch statistics (zero mean per channel).
  for (double m : mean(reshape(permute(y, {1, 0, 2, 3}), {2, 12}), 1).to_vector<double>()) CHECK(std::abs(m) < 1e-12);
  // Eval: the running statistics, and no update.
  bn->eval();
  CHECK(!bn->is_training());
  const Tensor rm = bn->running_mean.clone(), rv = bn->running_var.clone();
  const Tensor e = bn(x);
  CHECK(bn->num_batches_tracked.item<std::int64_t>() == 1);
  agt::check_values(bn->running_mean, rm.to_vector<double>(), 1e-15);
  const Tensor want = (x - reshape(rm, {1, 2, 1, 1})) / sqrt(reshape(rv, {1, 2, 1, 1}) + 1e-5);
  agt::check_values(e, want.to_vector<double>(), 1e-12);
  bn->train();
  bn->reset_running_stats();
  CHECK(bn->num_batches_tracked.item<std::int64_t>() == 0);
  agt::check_values(bn->running_var, {1, 1});

  // Without running statistics: no buffers, batch statistics in eval mode too.
  nn::BatchNorm2d free(nn::BatchNormOptions(2).track_running_stats(false).affine(false).dtype(kFloat64));
  CHECK(free->buffers().empty());
  CHECK(free->parameters().empty());
  free->eval();
  agt::check_values(free(x),
                    F::batch_norm(x, Tensor(), Tensor(), F::BatchNormFuncOptions().training(true)).to_vector<double>(),
                    1e-12);
}

TEST_CASE("BatchNorm: to(dtype) keeps num_batches_tracked int64; save and load keep the buffers") {
  nn::BatchNorm1d bn(3);
  CHECK(bn->running_mean.dtype() == kFloat32);
  bn->to(kFloat64);
  CHECK(bn->running_mean.dtype() == kFloat64);
  CHECK(bn->weight.dtype() == kFloat64);
  CHECK(bn->num_batches_tracked.dtype() == kInt64);
  bn(agt::input({4, 3}, 0.2, 1.0, 0.0, false));
  bn(agt::input({4, 3}, 0.9, 2.0, 0.0, false));
  const std::string path = "test_nn_norm_bn.safetensors";
  nn::save(*bn, path);
  nn::BatchNorm1d other(nn::BatchNormOptions(3).dtype(kFloat64));
  nn::load(*other, path);
  std::remove(path.c_str());
  CHECK(other->num_batches_tracked.item<std::int64_t>() == 2);
  agt::check_values(other->running_mean, bn->running_mean.to_vector<double>(), 1e-15);
  agt::check_values(other->running_var, bn->running_var.to_vector<double>(), 1e-15);
}

TEST_CASE("normalisation layers in float32 agree with float64") {
  const Tensor x64 = agt::input({4, 6, 3}, 0.4, 1.5, 0.3, false), x32 = x64.to(kFloat32);
  auto close = [](const Tensor& a32, const Tensor& b64) {
    CHECK(a32.dtype() == kFloat32);
    const auto a = a32.to_vector<double>(), b = b64.to_vector<double>();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-5));
  };
  nn::LayerNorm l32(nn::LayerNormOptions({6, 3})), l64(nn::LayerNormOptions({6, 3}).dtype(kFloat64));
  close(l32(x32), l64(x64));
  nn::GroupNorm g32(3, 6), g64(nn::GroupNormOptions(3, 6).dtype(kFloat64));
  close(g32(x32), g64(x64));
  nn::BatchNorm1d b32(6), b64(nn::BatchNormOptions(6).dtype(kFloat64));
  close(b32(x32), b64(x64));
  close(b32->running_var, b64->running_var);
  b32->eval();
  b64->eval();
  close(b32(x32), b64(x64));
}

TEST_CASE("normalisation misuse: ag::Error naming the layer and both shapes; nothing recorded, nothing changed") {
  nn::BatchNorm2d bn(nn::BatchNormOptions(3).dtype(kFloat64));
  const Tensor w0 = bn->weight.clone();
  auto unchanged = [&] {
    CHECK(bn->num_batches_tracked.item<std::int64_t>() == 0);
    agt::check_values(bn->running_mean, {0, 0, 0}, 1e-15);
    agt::check_values(bn->running_var, {1, 1, 1}, 1e-15);
    agt::check_values(bn->weight, w0.to_vector<double>(), 1e-15);
  };
  std::string msg = error_recording_nothing([&] { bn(agt::input({2, 4, 2, 2})); });
  CHECK(msg.find("BatchNorm2d") != std::string::npos);
  CHECK(msg.find("[N, 3, H, W]") != std::string::npos);
  CHECK(msg.find("[2, 4, 2, 2]") != std::string::npos);
  msg = error_recording_nothing([&] { bn(agt::input({2, 3, 4})); });
  CHECK(msg.find("BatchNorm2d") != std::string::npos);
  CHECK(msg.find("[2, 3, 4]") != std::string::npos);
  msg = error_recording_nothing([&] { bn(agt::input({1, 3, 1, 1})); });
  CHECK(msg.find("BatchNorm2d: expected more than 1 value per channel when training") != std::string::npos);
  CHECK(msg.find("[1, 3, 1, 1]") != std::string::npos);
  unchanged();
  bn->eval();
  CHECK(bn(agt::input({1, 3, 1, 1})).shape() == Shape{1, 3, 1, 1});  // fine with running statistics
  bn->train();
  nn::BatchNorm1d b1(nn::BatchNormOptions(3).dtype(kFloat64));
  msg = error_recording_nothing([&] { b1(agt::input({2, 3, 2, 2})); });
  CHECK(msg.find("BatchNorm1d: expected input [N, 3] or [N, 3, L]") != std::string::npos);
  msg = error_recording_nothing([&] { b1(agt::input({1, 3})); });
  CHECK(msg.find("more than 1 value per channel") != std::string::npos);
  CHECK(b1->num_batches_tracked.item<std::int64_t>() == 0);
  const Tensor x32 = agt::input({4, 3}, 1.0, 1.0, 0.0, false).to(kFloat32);
  msg = error_recording_nothing([&] { b1(x32); });
  CHECK(msg.find("BatchNorm1d") != std::string::npos);
  CHECK(msg.find("float32") != std::string::npos);
  msg = error_recording_nothing([&] { F::batch_norm(agt::input({4, 3}), Tensor(), Tensor()); });
  CHECK(msg.find("batch_norm: running_mean and running_var must be defined") != std::string::npos);
  msg = error_recording_nothing([&] {
    F::batch_norm(agt::input({4, 3}), f64({0, 0}, {2}), f64({1, 1}, {2}), F::BatchNormFuncOptions().training(true));
  });
  CHECK(msg.find("running_mean float64[3]") != std::string::npos);

  nn::LayerNorm ln(nn::LayerNormOptions({4, 5}).dtype(kFloat64));
  msg = error_recording_nothing([&] { ln(agt::input({2, 5, 4})); });
  CHECK(msg.find("LayerNorm: expected input [*, 4, 5] (normalized_shape [4, 5]), got float64[2, 5, 4]") !=
        std::string::npos);
  msg = error_recording_nothing([&] { ln(agt::input({5})); });
  CHECK(msg.find("LayerNorm") != std::string::npos);
  msg = error_recording_nothing([&] {
    F::layer_norm(agt::input({2, 4}), F::LayerNormFuncOptions({4}).weight(agt::input({3})));
  });
  CHECK(msg.find("layer_norm: expected weight float64[4]") != std::string::npos);

  nn::GroupNorm gn(nn::GroupNormOptions(2, 4).dtype(kFloat64));
  msg = error_recording_nothing([&] { gn(agt::input({2, 6, 3})); });
  CHECK(msg.find("GroupNorm: expected input [N, 4, *]") != std::string::npos);
  CHECK(msg.find("[2, 6, 3]") != std::string::npos);
  msg = error_recording_nothing([&] { F::group_norm(agt::input({2, 5, 3}), F::GroupNormFuncOptions(2)); });
  CHECK(msg.find("group_norm: the input's 5 channels are not divisible into num_groups 2") != std::string::npos);
  CHECK(agt::error_message([] { nn::GroupNorm(3, 4); }).find("GroupNorm") != std::string::npos);
  CHECK(agt::error_message([] { nn::LayerNorm(nn::LayerNormOptions({0})); }).find("LayerNorm") != std::string::npos);
}

TEST_CASE("the modules' parameter gradients are those of their gradchecked functional forms") {
  const Tensor x = agt::input({4, 6, 3}, 0.4, 1.5, 0.3, false), u = agt::input({4, 6, 3}, 1.9, 1.0, 0.0, false);
  auto same_grads = [&](nn::Module& m, const std::function<Tensor(const Tensor&)>& forward,
                        const std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)>& functional) {
    INFO(m.name());
    auto params = m.named_parameters();
    {
      NoGradGuard no_grad;  // non-trivial weight and bias
      params["weight"].copy_(agt::input(params["weight"].shape(), 0.2, 0.5, 1.0, false));
      params["bias"].copy_(agt::input(params["bias"].shape(), 0.6, 0.5, 0.0, false));
    }
    sum(forward(x) * u).backward();
    const Tensor w = params["weight"].detach().clone().requires_grad_(),
                 b = params["bias"].detach().clone().requires_grad_();
    const auto g = grad({sum(functional(x, w, b) * u)}, {w, b});
    agt::check_values(params["weight"].grad(), g[0].to_vector<double>(), 1e-13);
    agt::check_values(params["bias"].grad(), g[1].to_vector<double>(), 1e-13);
  };
  nn::LayerNorm ln(nn::LayerNormOptions({6, 3}).dtype(kFloat64));
  same_grads(
      *ln, [&](const Tensor& t) { return ln(t); },
      [](const Tensor& t, const Tensor& w, const Tensor& b) {
        return F::layer_norm(t, F::LayerNormFuncOptions({6, 3}).weight(w).bias(b));
      });
  nn::GroupNorm gn(nn::GroupNormOptions(2, 6).dtype(kFloat64));
  same_grads(
      *gn, [&](const Tensor& t) { return gn(t); },
      [](const Tensor& t, const Tensor& w, const Tensor& b) {
        return F::group_norm(t, F::GroupNormFuncOptions(2).weight(w).bias(b));
      });
  nn::BatchNorm1d bn(nn::BatchNormOptions(6).dtype(kFloat64));
  same_grads(
      *bn, [&](const Tensor& t) { return bn(t); },
      [](const Tensor& t, const Tensor& w, const Tensor& b) {
        return F::batch_norm(t, Tensor(), Tensor(), F::BatchNormFuncOptions().weight(w).bias(b).training(true));
      });
}

TEST_CASE("BatchNorm in a Sequential: train() / eval() reach it; nested buffer names save and load") {
  nn::Sequential seq(nn::Linear(nn::LinearOptions(3, 4).dtype(kFloat64)),
                     nn::BatchNorm1d(nn::BatchNormOptions(4).dtype(kFloat64)), nn::ReLU());
  CHECK(seq->named_buffers().keys() ==
        std::vector<std::string>{"1.running_mean", "1.running_var", "1.num_batches_tracked"});
  const Tensor x = agt::input({5, 3}, 0.3, 1.0, 0.0, false);
  sum(seq(x)).backward();
  auto bn = std::dynamic_pointer_cast<nn::BatchNorm1dImpl>((*seq)[1]);
  REQUIRE(bn);
  CHECK(bn->num_batches_tracked.item<std::int64_t>() == 1);
  seq->eval();
  CHECK(!bn->is_training());
  seq(x);
  CHECK(bn->num_batches_tracked.item<std::int64_t>() == 1);
  const std::string path = "test_nn_norm_seq.safetensors";
  nn::save(*seq, path);
  nn::Sequential copy(nn::Linear(nn::LinearOptions(3, 4).dtype(kFloat64)),
                      nn::BatchNorm1d(nn::BatchNormOptions(4).dtype(kFloat64)), nn::ReLU());
  nn::load(*copy, path);
  std::remove(path.c_str());
  copy->eval();
  agt::check_values(copy(x), seq(x).to_vector<double>(), 1e-15);
}

TEST_CASE(
    "normalize_rows (the fused op under LayerNorm / GroupNorm): equals its composite; gradchecked to second order") {
  const Tensor x = agt::input({3, 2, 5}, 0.7, 1.5, 0.2);
  auto composite = [](const std::vector<Tensor>& v) {
    const Tensor xr = reshape(v[0], {6, 5});
    const Tensor c = xr - mean(xr, 1, true);
    return reshape(c * rsqrt(mean(c * c, 1, true) + 1e-3), {3, 2, 5});
  };
  auto fused = [](const std::vector<Tensor>& v) { return std::get<0>(normalize_rows(v[0], 6, 1e-3)); };
  agt::check_same_function(fused, composite, {x}, 1e-12);
  agt::check_both_orders(fused, {x});
  // rstd's own gradient, alone and with xhat's.
  agt::check_both_orders([](const std::vector<Tensor>& v) { return std::get<1>(normalize_rows(v[0], 3, 1e-2)); }, {x});
  agt::check_both_orders(
      [](const std::vector<Tensor>& v) {
        auto [y, r] = normalize_rows(v[0], 10, 1e-2);
        return sum(pow(y, 3.0)) + sum(r * r);
      },
      {x});
  const auto [y, r] = normalize_rows(agt::input({2, 4}, 0.1, 1.0, 0.0, false), 2, 0.0);
  CHECK(r.shape() == Shape{2});
  CHECK(!y.requires_grad());
  CHECK(agt::error_message([&] {
          normalize_rows(x, 4, 1e-5);
        }).find("normalize_rows: cannot read the input float64[3, 2, 5] as 4 non-empty rows") != std::string::npos);
  CHECK(agt::error_message([] {
          normalize_rows(ones({2, 2}, kInt64), 2, 1e-5);
        }).find("normalize_rows: expected a floating input") != std::string::npos);
  // Empty inputs pass through LayerNorm and GroupNorm.
  CHECK(F::layer_norm(zeros({0, 4}, kFloat64), F::LayerNormFuncOptions({4})).shape() == Shape{0, 4});
  CHECK(F::group_norm(zeros({0, 4, 2}, kFloat64), F::GroupNormFuncOptions(2)).shape() == Shape{0, 4, 2});
}
