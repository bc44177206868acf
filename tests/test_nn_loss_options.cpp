// The losses' options (weight, ignore_index, label_smoothing, beta, delta, batchmean, log_target,
// margin, cosine_similarity's dim and eps): values by hand, module forms, float64 gradchecks and
// misuse. PyTorch parity of the same options: test_nn_loss_parity.cpp.
#include <cmath>
#include <limits>

#include "nn/nn.h"
#include "test_util.h"

using namespace ag;
namespace F = ag::nn::functional;
using nn::Reduction;

namespace {

Tensor f64(std::initializer_list<double> v, const Shape& s) { return tensor(v, s, kFloat64); }
Tensor labels(const std::vector<std::int64_t>& v) { return tensor(v, {static_cast<std::int64_t>(v.size())}); }

const Reduction kAll[] = {Reduction::Mean, Reduction::Sum, Reduction::None};

/// The message names `op` and every string of `parts` (shapes).
void check_error(const std::function<void()>& f, const std::string& op, const std::vector<std::string>& parts = {}) {
  const std::string m = agt::error_message(f);
  INFO("message: " << m);
  REQUIRE(!m.empty());
  CHECK(m.find(op) != std::string::npos);
  for (const auto& p : parts) CHECK(m.find(p) != std::string::npos);
}

}  // namespace

TEST_CASE("nll_loss: weight and ignore_index by hand") {
  const Tensor lp = f64({-1.0, -2.0, -0.5, -3.0, -0.25, -4.0}, {2, 3});
  const Tensor w = f64({1.0, 2.0, 3.0}, {3});
  const auto opts = [&] { return F::NLLLossFuncOptions().weight(w); };
  // rows: -w[1] lp[0,1] = 4, -w[0] lp[1,0] = 3; mean divides by w[1] + w[0] = 3
  CHECK(F::nll_loss(lp, labels({1, 0}), opts()).item<double>() == doctest::Approx(7.0 / 3.0).epsilon(1e-15));
  CHECK(F::nll_loss(lp, labels({1, 0}), opts().reduction(kSum)).item<double>() == 7.0);
  agt::check_values(F::nll_loss(lp, labels({1, 0}), opts().reduction(kNone)), {4.0, 3.0});
  // the default ignore_index -100: that row adds nothing, to the sum or to the denominator
  CHECK(F::nll_loss(lp, labels({1, -100}), opts()).item<double>() == 2.0);
  agt::check_values(F::nll_loss(lp, labels({1, -100}), opts().reduction(kNone)), {4.0, 0.0});
  CHECK(F::nll_loss(lp, labels({1, -100})).item<double>() == 2.0);
  // an ignore_index inside [0, C)
  CHECK(F::nll_loss(lp, labels({1, 0}), F::NLLLossFuncOptions().ignore_index(0)).item<double>() == 2.0);
  CHECK(F::nll_loss(lp, labels({2, 2}), F::NLLLossFuncOptions().ignore_index(2).reduction(kSum)).item<double>() == 0.0);
  // every row ignored: the mean is 0 / 0 = NaN, as PyTorch
  CHECK(std::isnan(F::nll_loss(lp, labels({-100, -100})).item<double>()));
  // unbatched [C] with a 0-d target, ignored or weighted
  const Tensor t0 = full(Shape{}, 2.0, kInt64);
  CHECK(F::nll_loss(f64({-1.0, -2.0, -0.5}, {3}), t0, opts()).item<double>() == 0.5);
  CHECK(F::nll_loss(f64({-1.0, -2.0, -0.5}, {3}), t0, opts().reduction(kNone)).item<double>() == 1.5);
  CHECK(F::nll_loss(f64({-1.0, -2.0, -0.5}, {3}), t0, opts().reduction(kNone)).dim() == 0);
  // the module and the ag:: name, float32
  CHECK(nn::NLLLoss(nn::NLLLossOptions().weight(w).reduction(kSum))(lp, labels({1, 0})).item<double>() == 7.0);
  CHECK(nn::NLLLoss(kSum)(lp, labels({1, 0})).item<double>() == 5.0);
  CHECK(ag::nll_loss(lp, labels({1, 0}), nn::NLLLossOptions().weight(w)).item<double>() ==
        doctest::Approx(7.0 / 3.0).epsilon(1e-15));
  const Tensor lp32 = lp.to(kFloat32);
  CHECK(F::nll_loss(lp32, labels({1, -100}), F::NLLLossFuncOptions().weight(w.to(kFloat32))).item<float>() == 2.0f);
}

TEST_CASE("cross_entropy: weight, ignore_index and label_smoothing by hand") {
  const Tensor z = f64({1.0, 2.0, 3.0, 0.5, -1.0, 0.0}, {2, 3});
  const Tensor w = f64({0.5, 1.0, 2.0}, {3});
  const Tensor lp = log_softmax(z, 1);
  const auto l = lp.to_vector<double>();
  const auto at = [&](int n, int c) { return l[static_cast<std::size_t>(3 * n + c)]; };
  // weights: rows -w[2] lp[0,2], -w[0] lp[1,0]; mean over w[2] + w[0]
  const double r0 = -2.0 * at(0, 2), r1 = -0.5 * at(1, 0);
  const auto wopts = [&] { return F::CrossEntropyFuncOptions().weight(w); };
  CHECK(F::cross_entropy(z, labels({2, 0}), wopts()).item<double>() == doctest::Approx((r0 + r1) / 2.5).epsilon(1e-14));
  agt::check_values(F::cross_entropy(z, labels({2, 0}), wopts().reduction(kNone)), {r0, r1}, 1e-14);
  // label smoothing e: (1 - e) nll + e / C * (-sum_c w[c] lp[n, c]), the same denominator
  const double e = 0.3;
  const double s0 = -(0.5 * at(0, 0) + 1.0 * at(0, 1) + 2.0 * at(0, 2));
  const double s1 = -(0.5 * at(1, 0) + 1.0 * at(1, 1) + 2.0 * at(1, 2));
  const auto sopts = [&] { return wopts().label_smoothing(e); };
  CHECK(F::cross_entropy(z, labels({2, 0}), sopts()).item<double>() ==
        doctest::Approx((1 - e) * (r0 + r1) / 2.5 + e / 3 * (s0 + s1) / 2.5).epsilon(1e-14));
  CHECK(F::cross_entropy(z, labels({2, 0}), sopts().reduction(kSum)).item<double>() ==
        doctest::Approx((1 - e) * (r0 + r1) + e / 3 * (s0 + s1)).epsilon(1e-14));
  // an ignored row adds nothing to either term, nor to the denominator
  CHECK(F::cross_entropy(z, labels({2, -100}), sopts()).item<double>() ==
        doctest::Approx((1 - e) * r0 / 2.0 + e / 3 * s0 / 2.0).epsilon(1e-14));
  agt::check_values(F::cross_entropy(z, labels({2, -100}), sopts().reduction(kNone)), {(1 - e) * r0 + e / 3 * s0, 0.0},
                    1e-14);
  // without weights the denominator is the count of rows not ignored
  CHECK(F::cross_entropy(z, labels({-100, 0}), F::CrossEntropyFuncOptions().label_smoothing(e)).item<double>() ==
        doctest::Approx(-(1 - e) * at(1, 0) - e / 3 * (at(1, 0) + at(1, 1) + at(1, 2))).epsilon(1e-14));
  CHECK(std::isnan(F::cross_entropy(z, labels({-100, -100})).item<double>()));
  // probabilities: p' = (1 - e) p + e / C, weighted, the mean over rows
  const Tensor p = f64({0.2, 0.3, 0.5, 1.0, 0.0, 0.0}, {2, 3});
  double total = 0.0;
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c) {
      const double pc = (1 - e) * p.to_vector<double>()[static_cast<std::size_t>(3 * n + c)] + e / 3;
      total -= w.to_vector<double>()[static_cast<std::size_t>(c)] * pc * at(n, c);
    }
  CHECK(F::cross_entropy(z, p, sopts()).item<double>() == doctest::Approx(total / 2).epsilon(1e-14));
  // label smoothing 1: the uniform target
  CHECK(F::cross_entropy(z, labels({2, 0}), F::CrossEntropyFuncOptions().label_smoothing(1.0)).item<double>() ==
        doctest::Approx(-(at(0, 0) + at(0, 1) + at(0, 2) + at(1, 0) + at(1, 1) + at(1, 2)) / 6).epsilon(1e-14));
  // the module (libtorch's spelling), float32
  const nn::CrossEntropyLoss loss(nn::CrossEntropyLossOptions().ignore_index(0).label_smoothing(0.1));
  CHECK(loss(z, labels({2, 0})).item<double>() ==
        F::cross_entropy(z, labels({2, 0}), F::CrossEntropyFuncOptions().ignore_index(0).label_smoothing(0.1))
            .item<double>());
  CHECK(loss->options.label_smoothing() == 0.1);
  CHECK(!loss->weight.defined());
  CHECK(loss->named_buffers().size() == 0);
  // a weight is the buffer "weight", which to() converts and forward uses
  nn::CrossEntropyLoss weighted(nn::CrossEntropyLossOptions().weight(w.clone()).label_smoothing(e));
  CHECK(weighted->named_buffers().size() == 1);
  CHECK(weighted->named_buffers().contains("weight"));
  CHECK(weighted(z, labels({2, 0})).item<double>() ==
        doctest::Approx((1 - e) * (r0 + r1) / 2.5 + e / 3 * (s0 + s1) / 2.5).epsilon(1e-14));
  weighted->to(kFloat32);
  CHECK(weighted->weight.dtype() == kFloat32);
  CHECK(weighted(z.to(kFloat32), labels({2, 0})).item<float>() ==
        doctest::Approx((1 - e) * (r0 + r1) / 2.5 + e / 3 * (s0 + s1) / 2.5).epsilon(1e-6));
  nn::NLLLoss nll(nn::NLLLossOptions().weight(w.clone()).reduction(kSum));
  CHECK(nll->named_buffers().contains("weight"));
  CHECK(nll(lp, labels({2, 0})).item<double>() == doctest::Approx(-2.0 * at(0, 2) - 0.5 * at(1, 0)).epsilon(1e-14));
  CHECK(loss->options.ignore_index() == 0);
  CHECK(nn::CrossEntropyLossOptions().ignore_index() == -100);
  CHECK(nn::CrossEntropyLossOptions().reduction() == kMean);
  CHECK(!nn::CrossEntropyLossOptions().weight().defined());
  const float f32 = F::cross_entropy(z.to(kFloat32), labels({2, 0}),
                                     F::CrossEntropyFuncOptions().weight(w.to(kFloat32)).label_smoothing(e))
                        .item<float>();
  CHECK(f32 == doctest::Approx((1 - e) * (r0 + r1) / 2.5 + e / 3 * (s0 + s1) / 2.5).epsilon(1e-6));
}

TEST_CASE("cross_entropy: the general path equals the fused plain case") {
  const Tensor z = agt::input({4, 5}, 0.4, 2.0);
  const Tensor t = labels({4, 0, 2, 1});
  const auto general = [&](Reduction r) {
    return F::CrossEntropyFuncOptions().weight(ones({5}, kFloat64)).reduction(r);
  };
  agt::check_same_function([&](const std::vector<Tensor>& v) { return F::cross_entropy(v[0], t, kNone); },
                           [&](const std::vector<Tensor>& v) { return F::cross_entropy(v[0], t, general(kNone)); }, {z},
                           1e-14);
  for (Reduction r : {Reduction::Mean, Reduction::Sum}) {
    Tensor x1 = z.detach().requires_grad_(), x2 = z.detach().requires_grad_();
    const Tensor plain = F::cross_entropy(x1, t, r), weighted = F::cross_entropy(x2, t, general(r));
    CHECK(plain.item<double>() == doctest::Approx(weighted.item<double>()).epsilon(1e-14));
    plain.backward();
    weighted.backward();
    agt::check_values(x1.grad(), x2.grad().to_vector<double>(), 1e-14);
  }
}

TEST_CASE("nll_loss and cross_entropy options: gradcheck in float64") {
  const Tensor z = agt::input({4, 3}, 0.6, 2.0);
  const Tensor w = f64({0.5, 2.0, 1.5}, {3});
  const Tensor t = labels({2, -100, 0, 1});
  const Tensor probs = agt::input({4, 3}, 1.1, 0.3, 0.5);
  for (Reduction r : kAll) {
    INFO(nn::reduction_name(r));
    agt::check_gradients(
        [&, r](const std::vector<Tensor>& v) {
          return F::nll_loss(v[0], t, F::NLLLossFuncOptions().weight(w).reduction(r));
        },
        {z});
    agt::check_gradients(
        [&, r](const std::vector<Tensor>& v) {
          return F::cross_entropy(v[0], t, F::CrossEntropyFuncOptions().weight(w).label_smoothing(0.2).reduction(r));
        },
        {z});
    agt::check_gradients(
        [&, r](const std::vector<Tensor>& v) {
          return F::cross_entropy(v[0], labels({2, 1, 0, 1}),
                                  F::CrossEntropyFuncOptions().ignore_index(1).label_smoothing(0.1).reduction(r));
        },
        {z});
    agt::check_gradients(
        [&, r](const std::vector<Tensor>& v) {
          return F::cross_entropy(v[0], v[1], F::CrossEntropyFuncOptions().weight(w).label_smoothing(0.3).reduction(r));
        },
        {z, probs});
  }
  agt::check_gradients(
      [&](const std::vector<Tensor>& v) {
        return F::cross_entropy(v[0], full(Shape{}, 1.0, kInt64),
                                F::CrossEntropyFuncOptions().weight(w).label_smoothing(0.2));
      },
      {agt::input({3}, 0.2)});
  agt::check_second_gradients(
      [&](const std::vector<Tensor>& v) {
        return F::cross_entropy(v[0], t, F::CrossEntropyFuncOptions().weight(w).label_smoothing(0.2));
      },
      {z});
}

TEST_CASE("smooth_l1_loss and huber_loss: values by hand, beta and delta") {
  const Tensor a = f64({0.2, -1.5, 3.0}, {3});
  const Tensor b = zeros({3}, kFloat64);
  agt::check_values(F::smooth_l1_loss(a, b, kNone), {0.02, 1.0, 2.5});
  agt::check_values(F::smooth_l1_loss(a, b, F::SmoothL1LossFuncOptions().beta(2.0).reduction(kNone)),
                    {0.01, 0.5625, 2.0});
  agt::check_values(F::smooth_l1_loss(a, b, kNone, 2.0), {0.01, 0.5625, 2.0});  // libtorch's beta argument wins
  agt::check_values(F::smooth_l1_loss(a, b, F::SmoothL1LossFuncOptions().beta(0.0).reduction(kNone)), {0.2, 1.5, 3.0});
  CHECK(F::smooth_l1_loss(a, b).item<double>() == doctest::Approx(3.52 / 3).epsilon(1e-15));
  CHECK(F::smooth_l1_loss(a, b, kSum).item<double>() == doctest::Approx(3.52).epsilon(1e-15));
  agt::check_values(F::huber_loss(a, b, kNone), {0.02, 1.0, 2.5});
  agt::check_values(F::huber_loss(a, b, F::HuberLossFuncOptions().delta(2.0).reduction(kNone)), {0.02, 1.125, 4.0});
  // huber(delta) = delta smooth_l1(beta = delta)
  const Tensor x = agt::input({2, 5}, 0.3, 3.0, 0.0, false), y = agt::input({2, 5}, 1.9, 1.0, 0.0, false);
  agt::check_values(
      F::huber_loss(x, y, F::HuberLossFuncOptions().delta(0.7).reduction(kNone)),
      (0.7 * F::smooth_l1_loss(x, y, F::SmoothL1LossFuncOptions().beta(0.7).reduction(kNone))).to_vector<double>(),
      1e-14);
  // modules, defaults, float32
  CHECK(nn::SmoothL1Loss()(a, b).item<double>() == doctest::Approx(3.52 / 3).epsilon(1e-15));
  CHECK(nn::SmoothL1Loss(nn::SmoothL1LossOptions().beta(2.0).reduction(kSum))(a, b).item<double>() == 2.5725);
  CHECK(nn::HuberLoss(nn::HuberLossOptions().delta(2.0).reduction(kSum))(a, b).item<double>() == 5.145);
  CHECK(nn::HuberLossOptions().delta() == 1.0);
  CHECK(nn::SmoothL1LossOptions().beta() == 1.0);
  CHECK(F::huber_loss(a.to(kFloat32), b.to(kFloat32), kSum).item<float>() == doctest::Approx(3.52).epsilon(1e-6));
}

TEST_CASE("smooth_l1_loss and huber_loss: gradcheck in float64 through input and target") {
  const Tensor a = agt::input({3, 4}, 0.1, 2.0), b = agt::input({3, 4}, 1.7, 1.0, 0.2);
  for (Reduction r : kAll) {
    for (double beta : {0.0, 0.5, 1.0, 1.7})
      agt::check_gradients(
          [r, beta](const std::vector<Tensor>& v) {
            return F::smooth_l1_loss(v[0], v[1], F::SmoothL1LossFuncOptions().beta(beta).reduction(r));
          },
          {a, b});
    for (double delta : {0.6, 1.0, 1.5})
      agt::check_gradients(
          [r, delta](const std::vector<Tensor>& v) {
            return F::huber_loss(v[0], v[1], F::HuberLossFuncOptions().delta(delta).reduction(r));
          },
          {a, b});
  }
}

TEST_CASE("kl_div: values by hand, batchmean and log_target") {
  const Tensor q = f64({0.25, 0.75, 0.5, 0.5}, {2, 2});
  const Tensor p = f64({0.5, 0.5, 0.0, 1.0}, {2, 2});
  const Tensor x = log(q);
  const double e0 = 0.5 * std::log(0.5 / 0.25), e1 = 0.5 * std::log(0.5 / 0.75), e3 = std::log(2.0);
  agt::check_values(F::kl_div(x, p, kNone), {e0, e1, 0.0, e3}, 1e-14);
  CHECK(F::kl_div(x, p).item<double>() == doctest::Approx((e0 + e1 + e3) / 4).epsilon(1e-14));
  CHECK(F::kl_div(x, p, kSum).item<double>() == doctest::Approx(e0 + e1 + e3).epsilon(1e-14));
  CHECK(F::kl_div(x, p, kBatchMean).item<double>() == doctest::Approx((e0 + e1 + e3) / 2).epsilon(1e-14));
  // log_target: the target as log-probabilities (a zero probability is -inf: exp(-inf) = 0)
  const Tensor lt = log(f64({0.5, 0.5, 0.25, 0.75}, {2, 2}));
  const double l2 = 0.25 * std::log(0.25 / 0.5), l3 = 0.75 * std::log(0.75 / 0.5);
  CHECK(F::kl_div(x, lt, F::KLDivFuncOptions().reduction(kSum).log_target(true)).item<double>() ==
        doctest::Approx(e0 + e1 + l2 + l3).epsilon(1e-14));
  // finite gradients at target 0 (the input's is -target = 0)
  Tensor xg = x.detach().requires_grad_();
  Tensor pg = f64({0.5, 0.5, 0.0, 1.0}, {2, 2}).requires_grad_();
  F::kl_div(xg, pg, kSum).backward();
  agt::check_values(xg.grad(), {-0.5, -0.5, 0.0, -1.0});
  CHECK(std::isfinite(pg.grad().to_vector<double>()[0]));
  // 0-d: batchmean is the sum; the module and its defaults
  CHECK(F::kl_div(scalar_tensor(-1.0, kFloat64), scalar_tensor(0.5, kFloat64), kBatchMean).item<double>() ==
        doctest::Approx(0.5 * (std::log(0.5) + 1.0)).epsilon(1e-15));
  CHECK(nn::KLDivLoss(nn::KLDivLossOptions(kBatchMean))(x, p).item<double>() ==
        doctest::Approx((e0 + e1 + e3) / 2).epsilon(1e-14));
  CHECK(nn::KLDivLossOptions().reduction() == kMean);
  CHECK(!nn::KLDivLossOptions().log_target());
  CHECK(F::kl_div(x.to(kFloat32), p.to(kFloat32), kSum).item<float>() == doctest::Approx(e0 + e1 + e3).epsilon(1e-6));
}

TEST_CASE("kl_div: gradcheck in float64 through input and target") {
  const Tensor x = agt::input({3, 4}, 0.2, 1.0, -1.5);
  const Tensor p = agt::input({3, 4}, 0.9, 0.4, 0.5);
  const Tensor lq = agt::input({3, 4}, 2.2, 0.5, -1.0);
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None, Reduction::BatchMean}) {
    INFO(nn::reduction_name(r));
    agt::check_gradients([r](const std::vector<Tensor>& v) { return F::kl_div(v[0], v[1], r); }, {x, p});
    agt::check_gradients(
        [r](const std::vector<Tensor>& v) {
          return F::kl_div(v[0], v[1], F::KLDivFuncOptions().reduction(r).log_target(true));
        },
        {x, lq});
  }
}

TEST_CASE("margin_ranking_loss: values, margin, gradcheck") {
  const Tensor x1 = f64({1.0, 2.0, 0.5}, {3}), x2 = f64({2.0, 1.0, 0.5}, {3}), y = f64({1.0, 1.0, -1.0}, {3});
  // max(0, -y (x1 - x2) + margin)
  agt::check_values(F::margin_ranking_loss(x1, x2, y, F::MarginRankingLossFuncOptions().margin(0.5).reduction(kNone)),
                    {1.5, 0.0, 0.5});
  CHECK(F::margin_ranking_loss(x1, x2, y).item<double>() == doctest::Approx(1.0 / 3).epsilon(1e-15));
  CHECK(F::margin_ranking_loss(x1, x2, y, kSum).item<double>() == 1.0);
  CHECK(nn::MarginRankingLoss(nn::MarginRankingLossOptions().margin(0.5).reduction(kSum))(x1, x2, y).item<double>() ==
        2.0);
  CHECK(nn::MarginRankingLossOptions().margin() == 0.0);
  const Tensor a = agt::input({6}, 0.3), b = agt::input({6}, 1.4, 0.7, 0.1);
  const Tensor t = agt::input({6}, 2.0, 1.0, 0.0);  // not only +-1: the target gets a gradient too
  for (Reduction r : kAll)
    agt::check_gradients(
        [r](const std::vector<Tensor>& v) {
          return F::margin_ranking_loss(v[0], v[1], v[2], F::MarginRankingLossFuncOptions().margin(0.2).reduction(r));
        },
        {a, b, t});
}

TEST_CASE("cosine_similarity: values, dim, broadcasting, eps, gradcheck") {
  const Tensor a = f64({1.0, 0.0, 3.0, 4.0}, {2, 2}), b = f64({1.0, 1.0, 4.0, -3.0}, {2, 2});
  agt::check_values(F::cosine_similarity(a, b), {1.0 / std::sqrt(2.0), 0.0}, 1e-15);
  agt::check_values(ag::cosine_similarity(a, b, 0),
                    {13.0 / (std::sqrt(10.0) * std::sqrt(17.0)), -12.0 / (4.0 * std::sqrt(10.0))}, 1e-14);
  agt::check_values(nn::CosineSimilarity(nn::CosineSimilarityOptions().dim(-1))(a, b), {1.0 / std::sqrt(2.0), 0.0},
                    1e-15);
  // broadcasting [2, 2] with [2]
  agt::check_values(F::cosine_similarity(a, f64({1.0, 0.0}, {2})), {1.0, 0.6}, 1e-15);
  // a zero vector: 0, with finite gradients
  Tensor z = zeros({1, 3}, kFloat64).requires_grad_();
  Tensor v = f64({1.0, 2.0, 2.0}, {1, 3}).requires_grad_();
  const Tensor c = F::cosine_similarity(z, v);
  CHECK(c.item<double>() == 0.0);
  sum(c).backward();
  for (double g : z.grad().to_vector<double>()) CHECK(std::isfinite(g));
  for (double g : v.grad().to_vector<double>()) CHECK(std::isfinite(g));
  // eps above the norms: the product of the norms is replaced by eps^2
  CHECK(
      F::cosine_similarity(f64({0.1, 0.0}, {1, 2}), f64({0.2, 0.0}, {1, 2}), F::CosineSimilarityFuncOptions().eps(0.5))
          .item<double>() == doctest::Approx(0.02 / 0.25).epsilon(1e-14));
  CHECK(nn::CosineSimilarityOptions().dim() == 1);
  CHECK(nn::CosineSimilarityOptions().eps() == 1e-8);
  CHECK(F::cosine_similarity(a.to(kFloat32), b.to(kFloat32)).to_vector<float>()[0] ==
        doctest::Approx(1.0 / std::sqrt(2.0)).epsilon(1e-6));
  const Tensor x = agt::input({3, 4}, 0.5), y = agt::input({3, 4}, 1.2, 1.0, 0.3), u = agt::input({4}, 2.1);
  for (std::int64_t d : {0, 1, -1})
    agt::check_gradients([d](const std::vector<Tensor>& t) { return ag::cosine_similarity(t[0], t[1], d); }, {x, y});
  agt::check_gradients([](const std::vector<Tensor>& t) { return ag::cosine_similarity(t[0], t[1], 1); }, {x, u});
  // (where a clamp by eps is active the gradient is PyTorch's, that of the unclamped formula, not the
  // derivative of the value: test_nn_loss_parity.cpp's cosine_similarity_eps checks it)
}

TEST_CASE("loss options: misuse is an ag::Error naming the loss and the shapes") {
  const Tensor a = ones({2, 3}, kFloat64), b = ones({3, 2}, kFloat64);
  check_error([&] { F::smooth_l1_loss(a, b); }, "smooth_l1_loss", {"[2, 3]", "[3, 2]"});
  check_error([&] { F::huber_loss(a, b); }, "huber_loss", {"[2, 3]", "[3, 2]"});
  check_error([&] { F::kl_div(a, b); }, "kl_div", {"[2, 3]", "[3, 2]"});
  check_error([&] { F::margin_ranking_loss(a, b, a); }, "margin_ranking_loss", {"[2, 3]", "[3, 2]"});
  check_error([&] { F::margin_ranking_loss(a, a, ones({3}, kFloat64)); }, "margin_ranking_loss", {"[2, 3]", "[3]"});
  check_error([&] { F::cross_entropy(a, ones({2, 2}, kFloat64)); }, "cross_entropy", {"[2, 3]", "[2, 2]"});
  check_error([&] { F::smooth_l1_loss(a, ones({2, 3}, kFloat32)); }, "smooth_l1_loss");
  check_error([&] { F::huber_loss(a, Tensor()); }, "huber_loss");
  check_error([&] { F::smooth_l1_loss(a, a, F::SmoothL1LossFuncOptions().beta(-1.0)); }, "smooth_l1_loss");
  check_error([&] { F::huber_loss(a, a, F::HuberLossFuncOptions().delta(0.0)); }, "huber_loss");
  // weight of the wrong size or dtype; label_smoothing outside [0, 1]; ignore_index with probabilities
  check_error(
      [&] {
        F::nll_loss(a, labels({0, 1}), F::NLLLossFuncOptions().weight(ones({2}, kFloat64)));
      },
      "nll_loss", {"[2]"});
  check_error(
      [&] {
        F::cross_entropy(a, labels({0, 1}), F::CrossEntropyFuncOptions().weight(ones({3}, kFloat32)));
      },
      "cross_entropy");
  check_error(
      [&] {
        F::cross_entropy(a, labels({0, 1}), F::CrossEntropyFuncOptions().label_smoothing(1.5));
      },
      "cross_entropy");
  check_error(
      [&] {
        F::cross_entropy(a, labels({0, 1}), F::CrossEntropyFuncOptions().label_smoothing(-0.1));
      },
      "cross_entropy");
  check_error([&] { F::cross_entropy(a, a, F::CrossEntropyFuncOptions().ignore_index(0)); }, "cross_entropy");
  // a target out of range is still an error unless it is ignore_index
  check_error([&] { F::nll_loss(a, labels({0, -100}), F::NLLLossFuncOptions().ignore_index(-1)); }, "nll_loss");
  check_error(
      [&] {
        F::cross_entropy(a, labels({3, 0}), F::CrossEntropyFuncOptions().ignore_index(0));
      },
      "cross_entropy");
  // batchmean is kl_div's only
  check_error([&] { F::cross_entropy(a, labels({0, 1}), kBatchMean); }, "cross_entropy", {"batchmean"});
  check_error([&] { F::cross_entropy(a, labels({0, -100}), kBatchMean); }, "cross_entropy", {"batchmean"});
  check_error([&] { F::nll_loss(a, labels({0, 1}), kBatchMean); }, "nll_loss", {"batchmean"});
  check_error([&] { F::smooth_l1_loss(a, a, kBatchMean); }, "smooth_l1_loss", {"batchmean"});
  check_error([&] { F::margin_ranking_loss(a, a, a, kBatchMean); }, "margin_ranking_loss", {"batchmean"});
  // cosine_similarity: dtypes, shapes that do not broadcast, dim
  check_error([&] { F::cosine_similarity(a, ones({2, 3}, kFloat32)); }, "cosine_similarity");
  check_error([&] { F::cosine_similarity(a, b); }, "cosine_similarity", {"[2, 3]", "[3, 2]"});
  check_error([&] { ag::cosine_similarity(a, a, 2); }, "cosine_similarity");
  check_error([&] { ag::cosine_similarity(labels({1, 2}), labels({1, 2}), 0); }, "cosine_similarity");
  // nothing was recorded: a failed call leaves its inputs without a grad_fn consumer
  Tensor x = ones({2, 3}, kFloat64).requires_grad_();
  CHECK_THROWS_AS(F::huber_loss(x, b), Error);
  CHECK(!x.grad().defined());
}
