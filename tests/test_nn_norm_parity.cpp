// PyTorch float64 parity of the normalisation and embedding layers: every entry of "norm_cases" in
// tests/data/torch_reference.json (made by tests/data/make_reference.py) is rebuilt here with
// nn::functional and nn modules; values and gradients to 1e-10 relative, and the running statistics
// a case leaves in its module ("buffers") to the same tolerance.
#include <map>

#include "nn/nn.h"
#include "parity_util.h"

using namespace ag;
namespace F = ag::nn::functional;
using agt::parity::Cases;
using agt::parity::Inputs;
using agt::parity::json;

namespace {

// The buffers each case leaves behind, compared with the case's "buffers".
std::map<std::string, Tensor>& buffers() {
  static std::map<std::string, Tensor> b;
  return b;
}

// A nested JSON list of integers as an int64 tensor of its shape.
Tensor indices(const json& j) {
  Shape shape;
  const json* level = &j;
  while (level->is_array()) {
    shape.push_back(static_cast<std::int64_t>(level->size()));
    if (level->empty()) break;
    level = &(*level)[0];
  }
  std::vector<std::int64_t> flat;
  std::function<void(const json&)> walk = [&](const json& x) {
    if (x.is_array())
      for (const auto& e : x) walk(e);
    else flat.push_back(x.get<std::int64_t>());
  };
  walk(j);
  return tensor(flat, shape, kInt64);
}

Tensor f64(const json& j) {
  return tensor(j.get<std::vector<double>>(), {static_cast<std::int64_t>(j.size())}, kFloat64);
}

void record_buffers(const nn::BatchNormImplBase& m) {
  buffers()["running_mean"] = m.running_mean.clone();
  buffers()["running_var"] = m.running_var.clone();
  buffers()["num_batches_tracked"] = m.num_batches_tracked.to(kFloat64);
}

const Cases& norm_cases() {
  static const Cases cases = {
      {"embedding_padding",
       [](const Inputs& in, const json& c) {
         return sum(F::embedding(indices(c.at("idx")), in.at("w"), F::EmbeddingFuncOptions().padding_idx(1)) *
                    in.at("u"));
       }},
      {"embedding_0d_repeats",
       [](const Inputs& in, const json&) {
         const Tensor w = in.at("w");
         return sum(F::embedding(full({}, 2.0, kInt64), w) * in.at("u")) +
                sum(pow(F::embedding(tensor(std::vector<std::int64_t>{3, 3, 3}, {3}, kInt64), w), 2.0));
       }},
      {"embedding_bag_sum_offsets",
       [](const Inputs& in, const json& c) {
         const auto o = F::EmbeddingBagFuncOptions()
                            .offsets(indices(c.at("offsets")))
                            .mode(nn::EmbeddingBagMode::Sum)
                            .per_sample_weights(in.at("p"));
         return sum(F::embedding_bag(indices(c.at("idx")), in.at("w"), o) * in.at("u"));
       }},
      {"embedding_bag_mean_2d_padding",
       [](const Inputs& in, const json& c) {
         const auto o = F::EmbeddingBagFuncOptions().mode(nn::EmbeddingBagMode::Mean).padding_idx(0);
         return sum(F::embedding_bag(indices(c.at("idx")), in.at("w"), o) * in.at("u"));
       }},
      {"embedding_bag_max_last_offset",
       [](const Inputs& in, const json& c) {
         const auto o = F::EmbeddingBagFuncOptions()
                            .offsets(indices(c.at("offsets")))
                            .mode(nn::EmbeddingBagMode::Max)
                            .include_last_offset(true);
         return sum(F::embedding_bag(indices(c.at("idx")), in.at("w"), o) * in.at("u"));
       }},
      {"layer_norm_affine",
       [](const Inputs& in, const json&) {
         const auto o = F::LayerNormFuncOptions({4, 5}).weight(in.at("weight")).bias(in.at("bias"));
         return sum(F::layer_norm(in.at("x"), o) * in.at("u"));
       }},
      {"layer_norm_plain_eps",
       [](const Inputs& in, const json&) {
         return sum(pow(F::layer_norm(in.at("x"), F::LayerNormFuncOptions({6}).eps(1e-3)), 3.0) * in.at("u"));
       }},
      {"group_norm_affine",
       [](const Inputs& in, const json&) {
         const auto o = F::GroupNormFuncOptions(3).weight(in.at("weight")).bias(in.at("bias"));
         return sum(F::group_norm(in.at("x"), o) * in.at("u"));
       }},
      {"group_norm_4d",
       [](const Inputs& in, const json&) {
         return sum(pow(F::group_norm(in.at("x"), F::GroupNormFuncOptions(2).eps(1e-2)), 2.0) * in.at("u"));
       }},
      {"batch_norm_training",
       [](const Inputs& in, const json& c) {
         Tensor rm = f64(c.at("running_mean")), rv = f64(c.at("running_var"));
         const auto o =
             F::BatchNormFuncOptions().weight(in.at("weight")).bias(in.at("bias")).training(true).momentum(0.2);
         const Tensor y = F::batch_norm(in.at("x"), rm, rv, o);
         buffers()["running_mean"] = rm;
         buffers()["running_var"] = rv;
         return sum(y * in.at("u"));
       }},
      {"batch_norm_eval",
       [](const Inputs& in, const json& c) {
         const auto o = F::BatchNormFuncOptions().weight(in.at("weight")).bias(in.at("bias")).eps(1e-3);
         return sum(F::batch_norm(in.at("x"), f64(c.at("running_mean")), f64(c.at("running_var")), o) * in.at("u"));
       }},
      {"batchnorm1d_module_cumulative",
       [](const Inputs& in, const json&) {
         nn::BatchNorm1d m(nn::BatchNormOptions(3).momentum(std::nullopt).dtype(kFloat64));
         const Tensor& x = in.at("x");
         const Tensor y1 = m(x), y2 = m(2.0 * x + 1.0);
         m->eval();
         const Tensor y3 = m(x);
         record_buffers(*m);
         return sum((y1 + y2 + y3) * in.at("u"));
       }},
      {"batchnorm2d_module",
       [](const Inputs& in, const json&) {
         nn::BatchNorm2d m(nn::BatchNormOptions(2).dtype(kFloat64));
         const Tensor& x = in.at("x");
         const Tensor y1 = m(x), y2 = m(x * x);
         m->eval();
         const Tensor y3 = m(x);
         record_buffers(*m);
         return sum((y1 + y2 + y3) * in.at("u"));
       }},
  };
  return cases;
}

}  // namespace

TEST_CASE("norm parity: every norm_cases entry has a lambda and every lambda an entry") {
  agt::parity::check_coverage("norm_cases", norm_cases(), 13);
}

TEST_CASE("norm parity: values, gradients and running statistics match PyTorch (float64)") {
  for (const auto& c : agt::parity::reference().at("norm_cases")) {
    buffers().clear();
    agt::parity::run_case(c, norm_cases());
    const std::string name = c.at("name");
    const json& want = c.at("buffers");
    CHECK_MESSAGE(want.size() == buffers().size(), name << ": buffers recorded");
    for (const auto& [k, v] : want.items()) {
      INFO("case " << name << " buffer " << k);
      REQUIRE(buffers().count(k) == 1);
      agt::parity::check_close(buffers().at(k), v, name + " " + k);
    }
  }
}
