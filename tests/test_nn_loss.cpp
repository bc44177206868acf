// Loss functions: forward values by hand, reductions, gradchecks, module forms and misuse.
#include <cmath>
#include <limits>

#include "nn/nn.h"
#include "test_util.h"

using namespace ag;
using nn::Reduction;

namespace {

Tensor f64(std::initializer_list<double> v, const Shape& s) { return tensor(v, s, kFloat64); }
Tensor labels(const std::vector<std::int64_t>& v, const Shape& s) { return tensor(v, s); }
Tensor label0(std::int64_t v) { return full(Shape{}, static_cast<double>(v), kInt64); }

bool all_finite(const Tensor& t) {
  for (double v : t.to_vector<double>())
    if (!std::isfinite(v)) return false;
  return true;
}

double bce(double p, double y) {
  return -(y * std::max(std::log(p), -100.0) + (1 - y) * std::max(std::log(1 - p), -100.0));
}

}  // namespace

TEST_CASE("mse_loss and l1_loss: values for every reduction") {
  const Tensor a = f64({1.0, 2.0, 3.0, 4.0}, {2, 2});
  const Tensor b = f64({0.5, 2.5, 3.0, 2.0}, {2, 2});
  CHECK(nn::mse_loss(a, b).item<double>() == 1.125);
  CHECK(nn::mse_loss(a, b, Reduction::Sum).item<double>() == 4.5);
  const Tensor none = nn::mse_loss(a, b, Reduction::None);
  CHECK(none.shape() == Shape{2, 2});
  agt::check_values(none, {0.25, 0.25, 0.0, 4.0});
  CHECK(nn::mse_loss(a, b).dim() == 0);
  CHECK(nn::l1_loss(a, b).item<double>() == 0.75);
  CHECK(nn::l1_loss(a, b, Reduction::Sum).item<double>() == 3.0);
  agt::check_values(nn::l1_loss(a, b, Reduction::None), {0.5, 0.5, 0.0, 2.0});
  // ag:: names and module forms
  CHECK(ag::mse_loss(a, b).item<double>() == 1.125);
  CHECK(ag::l1_loss(a, b).item<double>() == 0.75);
  CHECK(nn::MSELoss()(a, b).item<double>() == 1.125);
  CHECK(nn::MSELoss(Reduction::Sum)(a, b).item<double>() == 4.5);
  CHECK(nn::L1Loss()(a, b).item<double>() == 0.75);
  CHECK(nn::L1Loss(Reduction::None)(a, b).shape() == Shape{2, 2});
  // float32 and 0-d
  CHECK(nn::mse_loss(tensor({1.0, 3.0}, {2}), tensor({0.0, 1.0}, {2})).item<float>() == 2.5f);
  CHECK(nn::mse_loss(scalar_tensor(3.0, kFloat64), scalar_tensor(1.0, kFloat64)).item<double>() == 4.0);
}

TEST_CASE("mse_loss and l1_loss: gradcheck in float64 through both inputs") {
  const Tensor a = agt::input({2, 3}, 0.1), b = agt::input({2, 3}, 1.7, 0.8);
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    agt::check_gradients([r](const std::vector<Tensor>& v) { return nn::mse_loss(v[0], v[1], r); }, {a, b});
    agt::check_gradients([r](const std::vector<Tensor>& v) { return nn::l1_loss(v[0], v[1], r); }, {a, b});
  }
  // reuse: loss of x against itself shifted
  agt::check_gradients([](const std::vector<Tensor>& v) { return nn::mse_loss(v[0] * v[0], v[0]); }, {a});
  // dL/da = 2 (a - b) / n
  Tensor x = f64({1.0, 2.0}, {2}).requires_grad_();
  nn::mse_loss(x, f64({0.0, 4.0}, {2})).backward();
  agt::check_values(x.grad(), {1.0, -2.0});
}

TEST_CASE("binary_cross_entropy: values, reductions and log clamping at -100") {
  const Tensor p = f64({0.2, 0.9, 0.5, 0.7}, {4});
  const Tensor y = f64({0.0, 1.0, 0.3, 1.0}, {4});
  const std::vector<double> e = {bce(0.2, 0.0), bce(0.9, 1.0), bce(0.5, 0.3), bce(0.7, 1.0)};
  CHECK(e[0] == doctest::Approx(-std::log(0.8)).epsilon(1e-15));
  agt::check_values(nn::binary_cross_entropy(p, y, Reduction::None), e);
  CHECK(nn::binary_cross_entropy(p, y, Reduction::Sum).item<double>() ==
        doctest::Approx(e[0] + e[1] + e[2] + e[3]).epsilon(1e-14));
  CHECK(nn::binary_cross_entropy(p, y).item<double>() ==
        doctest::Approx((e[0] + e[1] + e[2] + e[3]) / 4).epsilon(1e-14));
  CHECK(nn::BCELoss()(p, y).item<double>() == doctest::Approx((e[0] + e[1] + e[2] + e[3]) / 4).epsilon(1e-14));
  CHECK(ag::binary_cross_entropy(p, y, Reduction::Sum).item<double>() ==
        doctest::Approx(e[0] + e[1] + e[2] + e[3]).epsilon(1e-14));

  // p = 0 or 1: each log is clamped at -100, so the loss is finite (100 for a confident miss)
  for (Dtype dt : {kFloat64, kFloat32}) {
    INFO(dtype_name(dt));
    Tensor pe = tensor({0.0, 0.0, 1.0, 1.0, 0.0}, {5}, dt).requires_grad_();
    const Tensor ye = tensor({0.0, 1.0, 0.0, 1.0, 0.5}, {5}, dt);
    const Tensor l = nn::binary_cross_entropy(pe, ye, Reduction::None);
    agt::check_values(l, {0.0, 100.0, 100.0, 0.0, 50.0});
    CHECK(nn::binary_cross_entropy(pe, ye, Reduction::Sum).item<double>() == 250.0);
    // finite gradients (no 0 * inf = NaN): a clamped log is flat, the other term is -log(1 - p) or
    // -log(p) at 1, whose derivative is +-1
    nn::binary_cross_entropy(pe, ye, Reduction::Sum).backward();
    CHECK(all_finite(pe.grad()));
    agt::check_values(pe.grad(), {1.0, 0.0, 0.0, -1.0, 0.5});
  }
  // far below e^-100 the clamp is active too
  CHECK(nn::binary_cross_entropy(f64({1e-300}, {1}), f64({1.0}, {1})).item<double>() == 100.0);
}

TEST_CASE("binary_cross_entropy: gradcheck in float64 through input and target") {
  const Tensor p = agt::input({2, 3}, 0.3, 0.4, 0.5);  // in (0.1, 0.9)
  const Tensor y = agt::input({2, 3}, 2.1, 0.5, 0.5);  // in [0, 1]
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None})
    agt::check_gradients([r](const std::vector<Tensor>& v) { return nn::binary_cross_entropy(v[0], v[1], r); }, {p, y});
  // dL/dp = (p - y) / (p (1 - p)) for the sum
  Tensor q = f64({0.25, 0.5}, {2}).requires_grad_();
  nn::binary_cross_entropy(q, f64({1.0, 0.2}, {2}), Reduction::Sum).backward();
  agt::check_values(q.grad(), {(0.25 - 1.0) / (0.25 * 0.75), (0.5 - 0.2) / 0.25});
}

TEST_CASE("binary_cross_entropy_with_logits: stable for logits +-1000 and exactly 0; grad sigmoid(z) - y") {
  Tensor z = f64({1000.0, 1000.0, -1000.0, -1000.0, 0.0, 0.0, 2.5, -0.75}, {8}).requires_grad_();
  Tensor y = f64({0.0, 1.0, 0.0, 1.0, 0.0, 0.3, 0.6, 1.0}, {8}).requires_grad_();
  auto ref = [](double zz, double yy) { return std::max(zz, 0.0) - zz * yy + std::log1p(std::exp(-std::abs(zz))); };
  const Tensor l = nn::binary_cross_entropy_with_logits(z, y, Reduction::None);
  REQUIRE(all_finite(l));
  const auto zv = z.to_vector<double>(), yv = y.to_vector<double>();
  std::vector<double> e, gz, gy;
  for (std::size_t i = 0; i < zv.size(); ++i) {
    e.push_back(ref(zv[i], yv[i]));
    gz.push_back(1.0 / (1.0 + std::exp(-zv[i])) - yv[i]);
    gy.push_back(-zv[i]);
  }
  CHECK(e[0] == 1000.0);
  CHECK(e[1] == 0.0);
  CHECK(e[4] == doctest::Approx(std::log(2.0)).epsilon(1e-15));
  agt::check_values(l, e, 1e-14);
  CHECK(l.to_vector<double>()[0] == 1000.0);
  CHECK(l.to_vector<double>()[1] == 0.0);
  CHECK(l.to_vector<double>()[2] == 0.0);
  CHECK(l.to_vector<double>()[3] == 1000.0);
  sum(l).backward();
  REQUIRE(all_finite(z.grad()));
  agt::check_values(z.grad(), gz, 1e-14);
  CHECK(z.grad().to_vector<double>()[0] == 1.0);
  CHECK(z.grad().to_vector<double>()[3] == -1.0);
  CHECK(z.grad().to_vector<double>()[4] == 0.5);
  agt::check_values(y.grad(), gy);
  // float32, mean, module form
  const Tensor z32 = tensor({1000.0, -1000.0, 0.0}, {3}), y32 = tensor({0.0, 0.0, 1.0}, {3});
  CHECK(nn::binary_cross_entropy_with_logits(z32, y32, Reduction::Sum).item<double>() ==
        doctest::Approx(1000.0 + std::log(2.0)).epsilon(1e-6));
  CHECK(nn::BCEWithLogitsLoss()(z, y).item<double>() ==
        doctest::Approx((e[0] + e[1] + e[2] + e[3] + e[4] + e[5] + e[6] + e[7]) / 8).epsilon(1e-14));
  CHECK(ag::binary_cross_entropy_with_logits(z, y).item<double>() == nn::BCEWithLogitsLoss()(z, y).item<double>());
  // it equals binary_cross_entropy(sigmoid(z)) where the latter is accurate
  const Tensor zm = f64({-3.0, 0.5, 2.0}, {3}), ym = f64({0.2, 1.0, 0.0}, {3});
  agt::check_values(nn::binary_cross_entropy_with_logits(zm, ym, Reduction::None),
                    nn::binary_cross_entropy(sigmoid(zm), ym, Reduction::None).to_vector<double>(), 1e-12);
}

TEST_CASE("binary_cross_entropy_with_logits: gradcheck in float64 through logits and target") {
  const Tensor z = agt::input({2, 3}, 0.9, 4.0);
  const Tensor y = agt::input({2, 3}, 0.4, 0.5, 0.5);
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None})
    agt::check_gradients(
        [r](const std::vector<Tensor>& v) { return nn::binary_cross_entropy_with_logits(v[0], v[1], r); }, {z, y});
  agt::check_gradients([](const std::vector<Tensor>& v) { return nn::binary_cross_entropy_with_logits(v[0], v[1]); },
                       {f64({60.0, -60.0, 49.0, -51.0}, {4}).requires_grad_(),
                        f64({0.2, 0.7, 0.0, 1.0}, {4}).requires_grad_()});
}

TEST_CASE("cross_entropy with class indices and nll_loss: values and reductions") {
  const Tensor logits = f64({1.0, 2.0, 3.0, 1.0, 1.0, 1.0}, {2, 3});
  const Tensor t = labels({2, 0}, {2});
  const double l0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3.0;
  const double l1 = std::log(3.0);
  CHECK(nn::cross_entropy(logits, t).item<double>() == doctest::Approx((l0 + l1) / 2).epsilon(1e-15));
  CHECK(nn::cross_entropy(logits, t, Reduction::Sum).item<double>() == doctest::Approx(l0 + l1).epsilon(1e-15));
  agt::check_values(nn::cross_entropy(logits, t, Reduction::None), {l0, l1});
  CHECK(nn::CrossEntropyLoss()(logits, t).item<double>() == doctest::Approx((l0 + l1) / 2).epsilon(1e-15));
  CHECK(ag::cross_entropy(logits, t, Reduction::Sum).item<double>() == doctest::Approx(l0 + l1).epsilon(1e-15));
  // unbatched: logits [C] with a 0-d label
  const Tensor single = f64({1.0, 2.0, 3.0}, {3});
  CHECK(nn::cross_entropy(single, label0(2)).item<double>() == doctest::Approx(l0).epsilon(1e-15));
  CHECK(nn::cross_entropy(single, label0(0), Reduction::None).dim() == 0);
  // nll_loss picks -log_probs[i, t_i]
  const Tensor lp = f64({-1.0, -2.0, -0.5, -3.0, -0.25, -4.0}, {2, 3});
  const Tensor t2 = labels({1, 0}, {2});
  CHECK(nn::nll_loss(lp, t2).item<double>() == 2.5);
  CHECK(nn::nll_loss(lp, t2, Reduction::Sum).item<double>() == 5.0);
  agt::check_values(nn::nll_loss(lp, t2, Reduction::None), {2.0, 3.0});
  CHECK(nn::NLLLoss()(lp, labels({2, 1}, {2})).item<double>() == 0.375);
  CHECK(ag::nll_loss(lp, t2).item<double>() == 2.5);
  CHECK(nn::nll_loss(f64({-1.0, -2.0, -0.5}, {3}), label0(2)).item<double>() == 0.5);
  // cross_entropy == nll_loss(log_softmax)
  CHECK(nn::cross_entropy(logits, t).item<double>() == nn::nll_loss(log_softmax(logits, 1), t).item<double>());
  // gradient: (softmax - onehot) / N
  Tensor x = f64({0.0, 0.0, 0.0, 0.0}, {2, 2}).requires_grad_();
  nn::cross_entropy(x, labels({1, 0}, {2})).backward();
  agt::check_values(x.grad(), {0.25, -0.25, -0.25, 0.25});
  // float32 logits with int64 labels
  CHECK(nn::cross_entropy(tensor({0.0, 0.0}, {1, 2}), labels({1}, {1})).item<float>() ==
        doctest::Approx(std::log(2.0)).epsilon(1e-6));
}

TEST_CASE("cross_entropy with class probabilities: values") {
  const Tensor logits = f64({1.0, 2.0, 3.0, 1.0, 1.0, 1.0}, {2, 3});
  const Tensor probs = f64({0.1, 0.2, 0.7, 0.5, 0.5, 0.0}, {2, 3});
  const double z0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const double l0 = -(0.1 * (1.0 - z0) + 0.2 * (2.0 - z0) + 0.7 * (3.0 - z0));
  const double l1 = std::log(3.0);
  agt::check_values(nn::cross_entropy(logits, probs, Reduction::None), {l0, l1});
  CHECK(nn::cross_entropy(logits, probs).item<double>() == doctest::Approx((l0 + l1) / 2).epsilon(1e-14));
  CHECK(nn::cross_entropy(logits, probs, Reduction::Sum).item<double>() == doctest::Approx(l0 + l1).epsilon(1e-14));
  // one-hot probabilities give the same as the indices
  const Tensor onehot = f64({0.0, 0.0, 1.0, 1.0, 0.0, 0.0}, {2, 3});
  CHECK(nn::cross_entropy(logits, onehot).item<double>() ==
        doctest::Approx(nn::cross_entropy(logits, labels({2, 0}, {2})).item<double>()).epsilon(1e-15));
  CHECK(nn::cross_entropy(f64({1.0, 2.0, 3.0}, {3}), f64({0.1, 0.2, 0.7}, {3})).item<double>() ==
        doctest::Approx(l0).epsilon(1e-14));
}

TEST_CASE("cross_entropy and nll_loss: gradcheck in float64") {
  const Tensor x = agt::input({3, 4}, 0.6, 2.0);
  const Tensor t = labels({3, 0, 2}, {3});
  const Tensor probs = softmax(agt::input({3, 4}, 1.3, 1.0, 0.0, false), 1).requires_grad_();
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    agt::check_gradients([&, r](const std::vector<Tensor>& v) { return nn::cross_entropy(v[0], t, r); }, {x});
    agt::check_gradients([&, r](const std::vector<Tensor>& v) { return nn::nll_loss(v[0], t, r); }, {x});
    agt::check_gradients([r](const std::vector<Tensor>& v) { return nn::cross_entropy(v[0], v[1], r); }, {x, probs});
  }
  const Tensor x1 = agt::input({4}, 0.2);
  const Tensor t0 = label0(1);
  agt::check_gradients([&](const std::vector<Tensor>& v) { return nn::cross_entropy(v[0], t0); }, {x1});
  agt::check_gradients([&](const std::vector<Tensor>& v) { return nn::nll_loss(v[0], t0); }, {x1});
  agt::check_second_gradients([&](const std::vector<Tensor>& v) { return nn::cross_entropy(v[0], t); }, {x});
}

TEST_CASE("losses: misuse is an ag::Error") {
  const Tensor x = f64({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {2, 3});
  // labels out of range, negative, wrong dtype, wrong shape
  CHECK_THROWS_AS(nn::cross_entropy(x, labels({0, 3}, {2})), Error);
  CHECK_THROWS_AS(nn::cross_entropy(x, labels({-1, 0}, {2})), Error);
  CHECK_THROWS_AS(nn::nll_loss(x, labels({0, 3}, {2})), Error);
  CHECK_THROWS_AS(nn::nll_loss(x, labels({-1, 0}, {2})), Error);
  CHECK_THROWS_AS(nn::nll_loss(x, f64({0.0, 1.0}, {2})), Error);
  CHECK_THROWS_AS(nn::nll_loss(x, tensor({0.0, 1.0}, {2})), Error);
  CHECK_THROWS_AS(nn::cross_entropy(x, f64({0.0, 1.0}, {2})), Error);  // float labels of index shape
  CHECK_THROWS_AS(nn::cross_entropy(x, labels({0, 1}, {2, 1})), Error);
  CHECK_THROWS_AS(nn::cross_entropy(x, labels({0, 1, 1}, {3})), Error);
  CHECK_THROWS_AS(nn::cross_entropy(x, labels({0}, {1})), Error);
  CHECK_THROWS_AS(nn::nll_loss(x, labels({0, 1}, {1, 2})), Error);
  CHECK_THROWS_AS(nn::cross_entropy(f64({1.0, 2.0}, {2}), labels({0}, {1})), Error);  // [C] needs a 0-d label
  CHECK_THROWS_AS(nn::cross_entropy(f64({1.0, 2.0}, {2}), label0(2)), Error);
  CHECK_THROWS_AS(nn::cross_entropy(ones({2, 2, 2}, kFloat64), labels({0, 1}, {2})), Error);
  CHECK_THROWS_AS(nn::nll_loss(scalar_tensor(1.0, kFloat64), label0(0)), Error);
  CHECK_THROWS_AS(nn::cross_entropy(x, ones({2, 2}, kFloat64)), Error);  // probabilities of the wrong shape
  CHECK_THROWS_AS(nn::cross_entropy(x, ones({2, 3}, kFloat32)), Error);  // probabilities of the wrong dtype
  CHECK_THROWS_AS(nn::cross_entropy(labels({0, 1}, {1, 2}), labels({0}, {1})), Error);  // int64 logits
  // shape and dtype mismatches for element-wise losses (no silent broadcasting)
  CHECK_THROWS_AS(nn::mse_loss(ones({3, 1}, kFloat64), ones({3}, kFloat64)), Error);
  CHECK_THROWS_AS(nn::l1_loss(ones({2, 3}, kFloat64), ones({3, 2}, kFloat64)), Error);
  CHECK_THROWS_AS(nn::binary_cross_entropy(full({3}, 0.5, kFloat64), ones({1}, kFloat64)), Error);
  CHECK_THROWS_AS(nn::binary_cross_entropy_with_logits(ones({2}, kFloat64), ones({2, 1}, kFloat64)), Error);
  CHECK_THROWS_AS(nn::mse_loss(ones({3}, kFloat64), ones({3}, kFloat32)), Error);
  CHECK_THROWS_AS(nn::mse_loss(labels({1, 2}, {2}), labels({1, 2}, {2})), Error);
  CHECK_THROWS_AS(nn::mse_loss(Tensor(), ones({3})), Error);
  CHECK_THROWS_AS(nn::mse_loss(ones({3}), Tensor()), Error);
  CHECK_THROWS_AS(nn::cross_entropy(Tensor(), labels({0}, {1})), Error);
  CHECK_THROWS_AS(nn::nll_loss(x, Tensor()), Error);
  // BCE input outside [0, 1] (NaN included)
  CHECK_THROWS_AS(nn::binary_cross_entropy(f64({0.5, 1.5}, {2}), f64({0.0, 1.0}, {2})), Error);
  CHECK_THROWS_AS(nn::binary_cross_entropy(f64({-0.1, 0.5}, {2}), f64({0.0, 1.0}, {2})), Error);
  CHECK_THROWS_AS(nn::binary_cross_entropy(f64({std::nan(""), 0.5}, {2}), f64({0.0, 1.0}, {2})), Error);
  CHECK_THROWS_AS(nn::BCELoss()(tensor({2.0}, {1}), tensor({1.0}, {1})), Error);
  // the message names the op and the shapes
  try {
    nn::mse_loss(ones({3, 1}, kFloat64), ones({3}, kFloat64));
    FAIL("no throw");
  } catch (const Error& err) {
    const std::string m = err.what();
    CHECK(m.find("mse_loss") != std::string::npos);
    CHECK(m.find("[3, 1]") != std::string::npos);
  }
  try {
    nn::cross_entropy(x, labels({0, 7}, {2}));
    FAIL("no throw");
  } catch (const Error& err) {
    CHECK(std::string(err.what()).find("7") != std::string::npos);
  }
}
