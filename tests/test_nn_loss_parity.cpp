// Parity with PyTorch 1.13 (float64) of the losses' options: every case of "loss_cases" in
// tests/data/torch_reference.json (made by the "# --- losses ---" block of make_reference.py) is
// rebuilt here with nn::functional and its value and every gradient must match to 1e-10 relative.
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

constexpr std::size_t kLossCases = 33;

Tensor labels(const json& c) {
  const json& t = c.at("target");
  if (t.is_number()) return full(Shape{}, t.get<double>(), kInt64);
  const auto v = t.get<std::vector<std::int64_t>>();
  return tensor(v, {static_cast<std::int64_t>(v.size())}, kInt64);
}
Tensor values(const json& c, const char* key) {
  const auto v = c.at(key).get<std::vector<double>>();
  return tensor(v, {static_cast<std::int64_t>(v.size())}, kFloat64);
}
Tensor weight(const json& c) { return values(c, "weight"); }

const std::map<std::string, CaseFn>& loss_cases() {
  using C = const json&;
  using I = const Inputs&;
  static const std::map<std::string, CaseFn> m = {
      {"nll_weight_mean",
       [](I in, C c) { return F::nll_loss(in.at("z"), labels(c), F::NLLLossFuncOptions().weight(weight(c))); }},
      {"nll_weight_ignore_mean",
       [](I in, C c) { return F::nll_loss(in.at("z"), labels(c), F::NLLLossFuncOptions().weight(weight(c))); }},
      {"nll_ignore_index_1_sum",
       [](I in, C c) {
         return F::nll_loss(log_softmax(in.at("z"), 1), labels(c),
                            F::NLLLossFuncOptions().ignore_index(1).reduction(kSum));
       }},
      {"nll_weight_ignore_none",
       [](I in, C c) {
         return sum(F::nll_loss(in.at("z"), labels(c), F::NLLLossFuncOptions().weight(weight(c)).reduction(kNone)) *
                    in.at("w"));
       }},
      {"nll_unbatched_weight",
       [](I in, C c) { return F::nll_loss(in.at("z"), labels(c), F::NLLLossFuncOptions().weight(weight(c))); }},
      {"ce_weight_mean",
       [](I in, C c) {
         return F::cross_entropy(in.at("z"), labels(c), F::CrossEntropyFuncOptions().weight(weight(c)));
       }},
      {"ce_ignore_mean", [](I in, C c) { return F::cross_entropy(in.at("z"), labels(c)); }},
      {"ce_smoothing_mean",
       [](I in, C c) {
         return F::cross_entropy(in.at("z"), labels(c), F::CrossEntropyFuncOptions().label_smoothing(0.1));
       }},
      {"ce_smoothing_weight_ignore_mean",
       [](I in, C c) {
         return F::cross_entropy(in.at("z"), labels(c),
                                 F::CrossEntropyFuncOptions().weight(weight(c)).label_smoothing(0.2));
       }},
      {"ce_smoothing_weight_ignore_sum",
       [](I in, C c) {
         return F::cross_entropy(
             in.at("z"), labels(c),
             F::CrossEntropyFuncOptions().weight(weight(c)).ignore_index(1).label_smoothing(0.3).reduction(kSum));
       }},
      {"ce_smoothing_weight_ignore_none",
       [](I in, C c) {
         return sum(
             F::cross_entropy(in.at("z"), labels(c),
                              F::CrossEntropyFuncOptions().weight(weight(c)).label_smoothing(0.2).reduction(kNone)) *
             in.at("w"));
       }},
      {"ce_unbatched_smoothing_weight",
       [](I in, C c) {
         return F::cross_entropy(in.at("z"), labels(c),
                                 F::CrossEntropyFuncOptions().weight(weight(c)).label_smoothing(0.15));
       }},
      {"ce_probs_weight_smoothing_mean",
       [](I in, C c) {
         return F::cross_entropy(in.at("z"), in.at("p"),
                                 F::CrossEntropyFuncOptions().weight(weight(c)).label_smoothing(0.1));
       }},
      {"ce_probs_sum", [](I in, C) { return F::cross_entropy(in.at("z"), in.at("p"), kSum); }},
      {"smooth_l1_mean", [](I in, C) { return F::smooth_l1_loss(in.at("a"), in.at("b")); }},
      {"smooth_l1_beta_sum",
       [](I in, C) {
         return F::smooth_l1_loss(in.at("a"), in.at("b"), F::SmoothL1LossFuncOptions().beta(0.5).reduction(kSum));
       }},
      {"smooth_l1_beta_none",
       [](I in, C) {
         return sum(F::smooth_l1_loss(in.at("a"), in.at("b"), kNone, 1.7) * in.at("w"));  // libtorch's beta overload
       }},
      {"smooth_l1_beta0",
       [](I in, C) { return F::smooth_l1_loss(in.at("a"), in.at("b"), F::SmoothL1LossFuncOptions().beta(0.0)); }},
      {"huber_mean", [](I in, C) { return F::huber_loss(in.at("a"), in.at("b")); }},
      {"huber_delta_sum",
       [](I in, C) {
         return F::huber_loss(in.at("a"), in.at("b"), F::HuberLossFuncOptions().delta(0.6).reduction(kSum));
       }},
      {"huber_delta_none",
       [](I in, C) {
         return sum(F::huber_loss(in.at("a"), in.at("b"), F::HuberLossFuncOptions().delta(1.5).reduction(kNone)) *
                    in.at("w"));
       }},
      {"kl_div_mean", [](I in, C) { return F::kl_div(in.at("x"), in.at("p")); }},
      {"kl_div_batchmean", [](I in, C) { return F::kl_div(in.at("x"), in.at("p"), kBatchMean); }},
      {"kl_div_sum", [](I in, C) { return F::kl_div(in.at("x"), in.at("p"), F::KLDivFuncOptions().reduction(kSum)); }},
      {"kl_div_none", [](I in, C) { return sum(F::kl_div(in.at("x"), in.at("p"), kNone) * in.at("w")); }},
      {"kl_div_log_target_batchmean",
       [](I in, C) {
         return F::kl_div(in.at("x"), in.at("q"), F::KLDivFuncOptions().reduction(kBatchMean).log_target(true));
       }},
      {"kl_div_zero_target",
       [](I in, C c) {
         return F::kl_div(in.at("x"), reshape(values(c, "p0"), {2, 3}), kSum);
       }},
      {"margin_ranking_mean",
       [](I in, C c) {
         return F::margin_ranking_loss(in.at("a"), in.at("b"), values(c, "y"),
                                       F::MarginRankingLossFuncOptions().margin(0.3));
       }},
      {"margin_ranking_sum",
       [](I in, C c) { return F::margin_ranking_loss(in.at("a"), in.at("b"), values(c, "y"), kSum); }},
      {"margin_ranking_none",
       [](I in, C c) {
         return sum(F::margin_ranking_loss(in.at("a"), in.at("b"), values(c, "y"),
                                           F::MarginRankingLossFuncOptions().margin(-0.2).reduction(kNone)) *
                    in.at("w"));
       }},
      {"cosine_similarity_dim1",
       [](I in, C) { return sum(F::cosine_similarity(in.at("a"), in.at("b")) * in.at("w")); }},
      {"cosine_similarity_dim0_broadcast",
       [](I in, C) {
         return sum(F::cosine_similarity(in.at("a"), in.at("v"), F::CosineSimilarityFuncOptions().dim(0)) * in.at("w"));
       }},
      {"cosine_similarity_eps",
       [](I in, C) {
         return sum(F::cosine_similarity(in.at("a"), in.at("b"), F::CosineSimilarityFuncOptions().dim(-1).eps(1.2)) *
                    in.at("w"));
       }},
  };
  return m;
}

}  // namespace

TEST_CASE("loss parity: every reference loss case has a C++ expression, and every expression a case") {
  agt::parity::check_coverage("loss_cases", loss_cases(), kLossCases);
}

TEST_CASE("loss parity: values and gradients of the losses' options match PyTorch") {
  const json& cs = agt::parity::reference().at("loss_cases");
  for (std::size_t i = 0; i < cs.size(); ++i) {
    const std::string name = cs[i].at("name");
    SUBCASE(name.c_str()) { agt::parity::run_case(cs[i], loss_cases()); }
  }
}
