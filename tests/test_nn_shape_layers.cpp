// Identity, Flatten, Unflatten (nn/flatten.h) and Dropout2d (nn/dropout.h): shapes, values, gradients,
// train / eval behaviour and misuse.
#include "nn/nn.h"
#include "test_util.h"

using namespace ag;
namespace F = ag::nn::functional;

TEST_CASE("Identity, Flatten and Unflatten: shapes, values and float64 gradchecks") {
  const Tensor x = agt::input({2, 3, 4, 5});
  nn::Identity id;
  CHECK(id(x).impl() == x.impl());
  nn::Flatten flat;
  CHECK(flat(x).shape() == Shape{2, 60});
  CHECK(nn::Flatten(nn::FlattenOptions().start_dim(0).end_dim(1))(x).shape() == Shape{6, 4, 5});
  CHECK(nn::Flatten(nn::FlattenOptions().start_dim(-2))(x).shape() == Shape{2, 3, 20});
  agt::check_values(flat(x), x.to_vector<double>(), 1e-15);
  nn::Unflatten unflat(1, std::vector<std::int64_t>{3, 4, 5});
  CHECK(unflat(flat(x)).shape() == Shape{2, 3, 4, 5});
  CHECK(nn::Unflatten(-2, std::vector<std::int64_t>{2, -1})(x).shape() == Shape{2, 3, 2, 2, 5});
  agt::check_values(unflat(flat(x)), x.to_vector<double>(), 1e-15);
  const Tensor small = agt::input({2, 3, 2});
  agt::check_gradients([&](const std::vector<Tensor>& v) { return pow(flat(v[0]), 2.0); }, {small});
  agt::check_gradients(
      [&](const std::vector<Tensor>& v) {
        return pow(nn::Unflatten(2, std::vector<std::int64_t>{1, 2})(v[0]), 2.0);
      },
      {small});
  nn::Sequential seq(nn::Identity(), nn::Flatten(), nn::Unflatten(1, std::vector<std::int64_t>{6, 10}));
  CHECK(seq(x).shape() == Shape{2, 6, 10});
}

TEST_CASE("Flatten and Unflatten misuse: ag::Error naming the layer and the shapes") {
  const Tensor x = agt::input({2, 6});
  CHECK(agt::error_message([&] {
          nn::Flatten(nn::FlattenOptions().start_dim(2))(x);
        }).find("Flatten: start_dim 2 and end_dim -1 do not select dims of the input float64[2, 6]") !=
        std::string::npos);
  CHECK(agt::error_message([&] {
          nn::Unflatten(1, std::vector<std::int64_t>{4, 2})(x);
        }).find("Unflatten: sizes [4, 2] do not multiply to the size 6 of dim 1 of the input float64[2, 6]") !=
        std::string::npos);
  CHECK(agt::error_message([&] {
          nn::Unflatten(1, std::vector<std::int64_t>{4, -1})(x);
        }).find("Unflatten") != std::string::npos);
  CHECK(agt::error_message([&] {
          nn::Unflatten(3, std::vector<std::int64_t>{1})(x);
        }).find("Unflatten: dim 3 is not a dim of the input") != std::string::npos);
}

TEST_CASE("Dropout2d: whole channels zeroed in training, the rest scaled by 1/(1-p); identity in eval") {
  manual_seed(7);
  const Tensor x = ones({8, 16, 3, 3}, kFloat64);
  nn::Dropout2d drop(0.25);
  const Tensor y = drop(x);
  const auto v = y.to_vector<double>();
  std::int64_t zeroed = 0;
  for (std::int64_t c = 0; c < 8 * 16; ++c) {
    const double first = v[static_cast<std::size_t>(c * 9)];
    CHECK((first == 0.0 || first == doctest::Approx(1.0 / 0.75)));
    for (std::int64_t k = 1; k < 9; ++k) CHECK(v[static_cast<std::size_t>(c * 9 + k)] == first);  // channel-wise
    zeroed += first == 0.0;
  }
  CHECK(zeroed > 10);  // about 32 of 128
  CHECK(zeroed < 60);
  // 3-D input [N, C, L]: one draw per (n, c) too.
  const Tensor z = F::dropout2d(ones({4, 8, 5}, kFloat64), F::Dropout2dFuncOptions().p(0.5));
  const Tensor per_channel = amax(z, 2) - amin(z, 2);
  for (double d : per_channel.to_vector<double>()) CHECK(d == 0.0);
  drop->eval();
  CHECK(drop(x).impl() == x.impl());
  CHECK(nn::dropout2d(x, 0.5, false).impl() == x.impl());
  CHECK(F::dropout2d(x, F::Dropout2dFuncOptions().p(1.0)).abs().sum().item<double>() == 0.0);
  // The gradient is the same mask: gradcheck with the generator reseeded on every call.
  const Tensor in = agt::input({2, 3, 2, 2});
  agt::check_gradients(
      [](const std::vector<Tensor>& t) {
        manual_seed(3);
        return nn::dropout2d(t[0], 0.4, true);
      },
      {in});
  const Tensor f = ones({2, 3, 2}, kFloat32);
  CHECK(nn::Dropout2d(0.5)(f).dtype() == kFloat32);
  CHECK(agt::error_message([] { nn::Dropout2d(1.5); }).find("Dropout2d: p must be in [0, 1]") != std::string::npos);
  CHECK(agt::error_message([&] {
          nn::Dropout2d()(ones({4, 5}, kFloat64));
        }).find("Dropout2d: expected input [N, C, H, W] (or [N, C, L]), got float64[4, 5]") != std::string::npos);
}
