// nll_loss and cross_entropy on [N, C, d1, ..., dk] inputs with [N, d1, ..., dk] targets (per-pixel
// classification): parity with PyTorch 1.13 float64 (every case of "loss_nd_cases" in
// tests/data/torch_reference.json, made by the "# --- nll_loss ND ---" block of make_reference.py),
// equality with the 2-D loss over the positions as rows, gradients to second order, modules, float32
// and errors.
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "nn/nn.h"
#include "parity_util.h"

using namespace ag;
namespace F = ag::nn::functional;
using json = nlohmann::json;

namespace {

using agt::parity::CaseFn;
using agt::parity::Inputs;

constexpr std::size_t kLossNdCases = 17;

// The class-index target: a flat list shaped by "shape".
Tensor nd_labels(const json& c) {
  const auto v = c.at("target").get<std::vector<std::int64_t>>();
  return tensor(v, c.at("shape").get<Shape>(), kInt64);
}
Tensor nd_weight(const json& c) {
  const auto v = c.at("weight").get<std::vector<double>>();
  return tensor(v, {static_cast<std::int64_t>(v.size())}, kFloat64);
}

const std::map<std::string, CaseFn>& loss_nd_cases() {
  using C = const json&;
  using I = const Inputs&;
  using NO = F::NLLLossFuncOptions;
  using CO = F::CrossEntropyFuncOptions;
  static const std::map<std::string, CaseFn> m = {
      {"nd_nll_weight_mean",
       [](I in, C c) { return F::nll_loss(in.at("z"), nd_labels(c), NO().weight(nd_weight(c))); }},
      {"nd_nll_ignore_sum",
       [](I in, C c) { return F::nll_loss(log_softmax(in.at("z"), 1), nd_labels(c), NO().reduction(kSum)); }},
      {"nd_nll_weight_ignore_mean",
       [](I in, C c) { return F::nll_loss(in.at("z"), nd_labels(c), NO().weight(nd_weight(c))); }},
      {"nd_nll_weight_ignore_none",
       [](I in, C c) {
         return sum(F::nll_loss(in.at("z"), nd_labels(c), NO().weight(nd_weight(c)).reduction(kNone)) * in.at("w"));
       }},
      {"nd_nll_3d_ignore_index_1_mean",
       [](I in, C c) { return F::nll_loss(in.at("z"), nd_labels(c), NO().ignore_index(1)); }},
      {"nd_nll_1d_none",
       [](I in, C c) { return sum(F::nll_loss(in.at("z"), nd_labels(c), NO().reduction(kNone)) * in.at("w")); }},
      {"nd_ce_mean", [](I in, C c) { return F::cross_entropy(in.at("z"), nd_labels(c)); }},
      {"nd_ce_none", [](I in, C c) { return sum(F::cross_entropy(in.at("z"), nd_labels(c), kNone) * in.at("w")); }},
      {"nd_ce_3d_sum", [](I in, C c) { return F::cross_entropy(in.at("z"), nd_labels(c), kSum); }},
      {"nd_ce_weight_ignore_mean",
       [](I in, C c) { return F::cross_entropy(in.at("z"), nd_labels(c), CO().weight(nd_weight(c))); }},
      {"nd_ce_smoothing_ignore_mean",
       [](I in, C c) { return F::cross_entropy(in.at("z"), nd_labels(c), CO().label_smoothing(0.1)); }},
      {"nd_ce_smoothing_weight_ignore_mean",
       [](I in, C c) {
         return F::cross_entropy(in.at("z"), nd_labels(c), CO().weight(nd_weight(c)).label_smoothing(0.2));
       }},
      {"nd_ce_smoothing_weight_ignore_1_sum",
       [](I in, C c) {
         return F::cross_entropy(in.at("z"), nd_labels(c),
                                 CO().weight(nd_weight(c)).ignore_index(1).label_smoothing(0.3).reduction(kSum));
       }},
      {"nd_ce_smoothing_weight_ignore_none",
       [](I in, C c) {
         return sum(F::cross_entropy(in.at("z"), nd_labels(c),
                                     CO().weight(nd_weight(c)).label_smoothing(0.2).reduction(kNone)) *
                    in.at("w"));
       }},
      {"nd_ce_1d_smoothing_none",
       [](I in, C c) {
         return sum(F::cross_entropy(in.at("z"), nd_labels(c), CO().label_smoothing(0.25).reduction(kNone)) *
                    in.at("w"));
       }},
      {"nd_ce_probs_weight_smoothing_mean",
       [](I in, C c) {
         return F::cross_entropy(in.at("z"), in.at("p"), CO().weight(nd_weight(c)).label_smoothing(0.1));
       }},
      {"nd_ce_probs_none", [](I in, C) { return sum(F::cross_entropy(in.at("z"), in.at("p"), kNone) * in.at("w")); }},
  };
  return m;
}

std::string message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// x [N, C, d1, ..., dk] as [N d1 ... dk, C] (the positions as rows), by hand.
Tensor positions_as_rows(const Tensor& x) {
  Shape dims{0};
  for (std::int64_t i = 2; i < x.dim(); ++i) dims.push_back(i);
  dims.push_back(1);
  return reshape(permute(x, dims), {-1, x.size(1)});
}

}  // namespace

TEST_CASE("loss ND parity: every reference case has a C++ expression, and every expression a case") {
  agt::parity::check_coverage("loss_nd_cases", loss_nd_cases(), kLossNdCases);
}

TEST_CASE("loss ND parity: nll_loss / cross_entropy on [N, C, d...] match PyTorch's values and gradients") {
  const json& cs = agt::parity::reference().at("loss_nd_cases");
  for (std::size_t i = 0; i < cs.size(); ++i) {
    const std::string name = cs[i].at("name");
    SUBCASE(name.c_str()) { agt::parity::run_case(cs[i], loss_nd_cases()); }
  }
}

TEST_CASE("nll_loss / cross_entropy ND: equal the 2-D loss over the positions as rows, every option") {
  const Tensor z = agt::input({2, 3, 4, 5}, 1.0, 2.0).detach();
  std::vector<std::int64_t> tv(40);
  for (std::size_t i = 0; i < tv.size(); ++i) tv[i] = static_cast<std::int64_t>(i * 7 % 3);
  const Tensor t = tensor(tv, {2, 4, 5}, kInt64);
  for (std::size_t i = 0; i < tv.size(); i += 5) tv[i] = -100;  // some positions ignored
  const Tensor ti = tensor(tv, {2, 4, 5}, kInt64);
  const Tensor w = tensor({0.5, 2.0, 1.25}, {3}, kFloat64);
  const Tensor rows = positions_as_rows(z);
  for (const Tensor& target : {t, ti}) {
    const Tensor flat = reshape(target, {-1});
    for (const auto r : {kMean, kSum, kNone}) {
      for (const bool weighted : {false, true}) {
        for (const double e : {0.0, 0.3}) {
          INFO("reduction ", nn::reduction_name(r), " weight ", weighted, " smoothing ", e);
          auto ce = F::CrossEntropyFuncOptions().reduction(r).label_smoothing(e);
          auto nll = F::NLLLossFuncOptions().reduction(r);
          if (weighted) {
            ce.weight(w);
            nll.weight(w);
          }
          const Tensor got = F::cross_entropy(z, target, ce), want = F::cross_entropy(rows, flat, ce);
          CHECK(got.shape() == (r == kNone ? target.shape() : Shape{}));
          agt::check_values(reshape(got, {-1}), reshape(want, {-1}).to_vector<double>(), 1e-13);
          if (e == 0.0) {
            const Tensor lp = log_softmax(z, 1);
            const Tensor g2 = F::nll_loss(lp, target, nll), w2 = F::nll_loss(positions_as_rows(lp), flat, nll);
            CHECK(g2.shape() == (r == kNone ? target.shape() : Shape{}));
            agt::check_values(reshape(g2, {-1}), reshape(w2, {-1}).to_vector<double>(), 1e-13);
          }
        }
      }
    }
  }
}

TEST_CASE("nll_loss / cross_entropy ND: gradients to second order, modules, float32") {
  const Tensor t = tensor({2, 0, 1, -100, 1, 2, 0, 0, 2, 1, -100, 2}, {2, 2, 3}, kInt64);
  const Tensor t_all = tensor({2, 0, 1, 1, 1, 2, 0, 0, 2, 1, 1, 2}, {2, 2, 3}, kInt64);
  const Tensor w = tensor({0.5, 2.0, 1.25}, {3}, kFloat64);
  const Tensor z = agt::input({2, 3, 2, 3}, 1.0, 1.5);
  agt::check_both_orders(
      [&](const std::vector<Tensor>& v) {
        return F::cross_entropy(v[0], t, F::CrossEntropyFuncOptions().weight(w).label_smoothing(0.2));
      },
      {z});
  agt::check_both_orders([&](const std::vector<Tensor>& v) { return F::cross_entropy(v[0], t_all); }, {z});  // fused
  agt::check_both_orders(
      [&](const std::vector<Tensor>& v) {
        return F::nll_loss(log_softmax(v[0], 1), t, F::NLLLossFuncOptions().weight(w).reduction(kNone));
      },
      {z});
  agt::check_both_orders(
      [&](const std::vector<Tensor>& v) {
        return F::cross_entropy(v[0], softmax(v[1], 1), F::CrossEntropyFuncOptions().weight(w).reduction(kNone));
      },
      {z, agt::input({2, 3, 2, 3}, 3.0)});
  // modules
  nn::CrossEntropyLoss ce(nn::CrossEntropyLossOptions().weight(w).ignore_index(1));
  agt::check_values(
      ce(z.detach(), t_all),
      {F::cross_entropy(z.detach(), t_all, F::CrossEntropyFuncOptions().weight(w).ignore_index(1)).item<double>()});
  nn::NLLLoss nll(nn::NLLLossOptions().reduction(kSum));
  agt::check_values(
      nll(log_softmax(z.detach(), 1), t),
      {F::nll_loss(log_softmax(z.detach(), 1), t, F::NLLLossFuncOptions().reduction(kSum)).item<double>()});
  // float32 agrees with float64
  const Tensor z32 = z.detach().to(kFloat32);
  agt::check_values(
      F::cross_entropy(z32, t, F::CrossEntropyFuncOptions().weight(w.to(kFloat32)).label_smoothing(0.1)).to(kFloat64),
      {F::cross_entropy(z.detach(), t, F::CrossEntropyFuncOptions().weight(w).label_smoothing(0.1)).item<double>()},
      1e-6);
  agt::check_values(F::cross_entropy(z32, t_all, kNone).to(kFloat64),
                    F::cross_entropy(z.detach(), t_all, kNone).to_vector<double>(), 1e-6);
}

TEST_CASE("nll_loss / cross_entropy ND: errors name the loss and both shapes; nothing recorded") {
  const Tensor z = agt::input({2, 3, 4}, 1.0);
  CHECK(message([&] {
          F::nll_loss(z, zeros({2, 3}, kInt64));
        }) == "nll_loss: target int64[2, 3] does not match input float64[2, 3, 4] (expected [2, 4])");
  CHECK(message([&] {
          F::cross_entropy(z, zeros({4, 2}, kInt64));
        }) == "cross_entropy: target int64[4, 2] does not match input float64[2, 3, 4] (expected [2, 4])");
  CHECK(message([&] {
          F::cross_entropy(z, full({2, 4}, 3.0, kInt64));
        }).find("cross_entropy: target 3 at position 0 is out of range for 3 classes") == 0);
  CHECK(message([&] {
          F::nll_loss(z, zeros({2, 4}, kInt64), F::NLLLossFuncOptions().weight(ones({4}, kFloat64)));
        }).find("nll_loss: weight float64[4] must be [3]") == 0);
  CHECK(message([&] {
          F::cross_entropy(z, zeros({2, 4}, kFloat64));
        }).find("cross_entropy: input float64[2, 3, 4] and target float64[2, 4] must have the same shape") == 0);
  CHECK(message([&] {
          F::nll_loss(full({}, 1.0, kFloat64), zeros({}, kInt64));
        }).find("nll_loss: expects input [N, C], [C] or [N, C, d1, ..., dk], got") == 0);
  // a failed call records nothing: the input's graph is unchanged
  const Tensor leaf = agt::input({2, 3, 4}, 2.0);
  CHECK_THROWS_AS(F::cross_entropy(leaf, zeros({2, 5}, kInt64)), Error);
  CHECK(!leaf.grad_fn());
}
