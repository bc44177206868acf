// Embedding's max_norm, norm_type, scale_grad_by_freq and sparse options (nn/embedding.h), in
// EmbeddingOptions, Embedding::from_pretrained and functional::embedding, and the same options of
// EmbeddingBag (nn/embedding_bag.h): values by hand, float64
// gradchecks (scale_grad_by_freq, to second order), PyTorch float64 parity ("embedding_option_cases"
// of tests/data/torch_reference.json, made by tests/data/make_reference.py: value, gradients and the
// weight after the renormalisation), float32, and misuse.
#include <cmath>
#include <functional>
#include <limits>

#include "nn/nn.h"
#include "parity_util.h"
#include "test_util.h"

using namespace ag;
namespace F = ag::nn::functional;
using agt::parity::Cases;
using agt::parity::Inputs;
using agt::parity::json;

namespace {

Tensor f64(std::initializer_list<double> v, const Shape& s) { return tensor(v, s, kFloat64); }
Tensor idx(const std::vector<std::int64_t>& v, const Shape& s) { return tensor(v, s, kInt64); }

Tensor json_indices(const json& j) {
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

// The weight each case leaves behind, compared with the case's "buffers".
Tensor& weight_after() {
  static Tensor w;
  return w;
}

const Cases& option_cases() {
  static const Cases cases = {
      {"embedding_max_norm",
       [](const Inputs& in, const json& c) {
         const Tensor& w = in.at("w");
         const Tensor out =
             sum(F::embedding(json_indices(c.at("idx")), w, F::EmbeddingFuncOptions().max_norm(1.5)) * in.at("u"));
         weight_after() = w.detach().clone();
         return out;
       }},
      {"embedding_max_norm_p1_padding",
       [](const Inputs& in, const json& c) {
         const Tensor& w = in.at("w");
         const auto o = F::EmbeddingFuncOptions().padding_idx(1).max_norm(2.0).norm_type(1.0);
         const Tensor out = sum(pow(F::embedding(json_indices(c.at("idx")), w, o), 2.0) * in.at("u"));
         weight_after() = w.detach().clone();
         return out;
       }},
      {"embedding_max_norm_inf",
       [](const Inputs& in, const json& c) {
         const Tensor& w = in.at("w");
         const auto o = F::EmbeddingFuncOptions().max_norm(0.8).norm_type(std::numeric_limits<double>::infinity());
         const Tensor out = sum(F::embedding(json_indices(c.at("idx")), w, o) * in.at("u"));
         weight_after() = w.detach().clone();
         return out;
       }},
      {"embedding_max_norm_p3",
       [](const Inputs& in, const json& c) {
         const Tensor& w = in.at("w");
         const auto o = F::EmbeddingFuncOptions().max_norm(0.5).norm_type(3.0);
         const Tensor out = sum(F::embedding(json_indices(c.at("idx")), w, o) * in.at("u"));
         weight_after() = w.detach().clone();
         return out;
       }},
      {"embedding_scale_grad_by_freq",
       [](const Inputs& in, const json& c) {
         const Tensor& w = in.at("w");
         const auto o = F::EmbeddingFuncOptions().scale_grad_by_freq(true);
         const Tensor out = sum(pow(F::embedding(json_indices(c.at("idx")), w, o), 2.0) * in.at("u"));
         weight_after() = w.detach().clone();
         return out;
       }},
      {"embedding_scale_grad_by_freq_padding_max_norm",
       [](const Inputs& in, const json& c) {
         const Tensor& w = in.at("w");
         const auto o = F::EmbeddingFuncOptions().padding_idx(-1).max_norm(1.0).scale_grad_by_freq(true);
         const Tensor out = sum(F::embedding(json_indices(c.at("idx")), w, o) * in.at("u"));
         weight_after() = w.detach().clone();
         return out;
       }},
      {"embedding_bag_sum_max_norm_freq_psw",
       [](const Inputs& in, const json& c) {
         const Tensor& w = in.at("w");
         const auto o = F::EmbeddingBagFuncOptions()
                            .offsets(json_indices(c.at("offsets")))
                            .mode(nn::EmbeddingBagMode::Sum)
                            .per_sample_weights(in.at("p"))
                            .max_norm(1.0)
                            .scale_grad_by_freq(true);
         const Tensor out = sum(F::embedding_bag(json_indices(c.at("idx")), w, o) * in.at("u"));
         weight_after() = w.detach().clone();
         return out;
       }},
      {"embedding_bag_mean_2d_padding_freq",
       [](const Inputs& in, const json& c) {
         const Tensor& w = in.at("w");
         const auto o =
             F::EmbeddingBagFuncOptions().mode(nn::EmbeddingBagMode::Mean).padding_idx(0).scale_grad_by_freq(true);
         const Tensor out = sum(pow(F::embedding_bag(json_indices(c.at("idx")), w, o), 2.0) * in.at("u"));
         weight_after() = w.detach().clone();
         return out;
       }},
      {"embedding_bag_max_max_norm_p1",
       [](const Inputs& in, const json& c) {
         const Tensor& w = in.at("w");
         const auto o = F::EmbeddingBagFuncOptions().mode(nn::EmbeddingBagMode::Max).max_norm(1.5).norm_type(1.0);
         const Tensor out = sum(F::embedding_bag(json_indices(c.at("idx")), w, o) * in.at("u"));
         weight_after() = w.detach().clone();
         return out;
       }},
  };
  return cases;
}

std::string error_recording_nothing(const std::function<void()>& f) {
  const auto before = Tape::current().num_nodes();
  const std::string msg = agt::error_message(f);
  CHECK(Tape::current().num_nodes() == before);
  return msg;
}

}  // namespace

TEST_CASE("embedding max_norm: the rows read whose norm exceeds max_norm are rescaled in place, the others kept") {
  // Row norms (2-norm): 5, 0.5, 10, 13.
  const Tensor w = f64({3, 4, 0.3, 0.4, 6, 8, 5, 12}, {4, 2}).requires_grad_(true);
  const Tensor out = F::embedding(idx({0, 1, 0, 3}, {2, 2}), w, F::EmbeddingFuncOptions().max_norm(1.0));
  const double s0 = 1.0 / (5 + 1e-7), s3 = 1.0 / (13 + 1e-7);
  // Row 2 is not read: it keeps its norm of 10; row 1 is below max_norm.
  agt::check_values(w.detach(), {3 * s0, 4 * s0, 0.3, 0.4, 6, 8, 5 * s3, 12 * s3}, 1e-15);
  agt::check_values(out, {3 * s0, 4 * s0, 0.3, 0.4, 3 * s0, 4 * s0, 5 * s3, 12 * s3}, 1e-15);
  // The renormalisation is not differentiated (as PyTorch's, under no-grad): the gradient is the lookup's.
  const Tensor g =
      grad({sum(F::embedding(idx({0, 1, 0, 3}, {4}), w, F::EmbeddingFuncOptions().max_norm(1.0)))}, {w})[0];
  agt::check_values(g, {2, 2, 1, 1, 0, 0, 1, 1});

  // norm_type 1 and infinity.
  const Tensor w1 = f64({3, -4, 0.5, 0.25}, {2, 2});
  F::embedding(idx({0, 1}, {2}), w1, F::EmbeddingFuncOptions().max_norm(2.0).norm_type(1.0));
  agt::check_values(w1, {3 * 2 / (7 + 1e-7), -4 * 2 / (7 + 1e-7), 0.5, 0.25}, 1e-15);
  const Tensor wi = f64({3, -4, 0.5, 0.25}, {2, 2});
  F::embedding(idx({1, 0}, {2}), wi,
               F::EmbeddingFuncOptions().max_norm(2.0).norm_type(std::numeric_limits<double>::infinity()));
  agt::check_values(wi, {3 * 2 / (4 + 1e-7), -4 * 2 / (4 + 1e-7), 0.5, 0.25}, 1e-15);

  // float32, and the module: its weight is renormalised at each forward.
  nn::Embedding emb(nn::EmbeddingOptions(3, 2).max_norm(1.0)._weight(f64({3, 4, 0, 0.5, 6, 8}, {3, 2}).to(kFloat32)));
  CHECK(*emb->options.max_norm() == 1.0);
  CHECK(emb->options.norm_type() == 2.0);
  const Tensor y = emb(idx({0, 1}, {2}));
  CHECK(y.dtype() == kFloat32);
  agt::check_values(emb->weight.detach(), {0.6, 0.8, 0, 0.5, 6, 8}, 1e-6);
  agt::check_values(y, {0.6, 0.8, 0, 0.5}, 1e-6);
}

TEST_CASE("embedding scale_grad_by_freq: each row's gradient divided by its count in the batch; values unchanged") {
  const Tensor w = agt::input({5, 3});
  const Tensor tokens = idx({1, 4, 1, 0, 4, 1}, {2, 3});
  const auto o = F::EmbeddingFuncOptions().scale_grad_by_freq(true);
  const Tensor out = F::embedding(tokens, w, o);
  CHECK(out.to_vector<double>() == F::embedding(tokens, w).to_vector<double>());  // bit for bit
  agt::check_values(grad({sum(out)}, {w})[0], {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1});
  const Tensor u = agt::input({2, 3, 3}, 1.0, 1.0, 0.5, false);
  const Tensor gu = grad({sum(F::embedding(tokens, w, o) * u)}, {w})[0];
  const Tensor gplain = grad({sum(F::embedding(tokens, w) * u)}, {w})[0];
  agt::check_values(gu.select(0, 1), (gplain.select(0, 1) / 3.0).to_vector<double>(), 1e-15);
  agt::check_values(gu.select(0, 4), (gplain.select(0, 4) / 2.0).to_vector<double>(), 1e-15);
  agt::check_values(gu.select(0, 0), gplain.select(0, 0).to_vector<double>(), 1e-15);
  // With a padding row: that row still gets nothing.
  const Tensor gp =
      grad({sum(F::embedding(tokens, w, F::EmbeddingFuncOptions().scale_grad_by_freq(true).padding_idx(4)))}, {w})[0];
  agt::check_values(gp, {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0});

  // The module and from_pretrained carry the option.
  nn::Embedding emb(nn::EmbeddingOptions(5, 3).scale_grad_by_freq(true).dtype(kFloat64));
  agt::check_values(grad({sum(emb(tokens))}, {emb->weight})[0], {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1});
  auto pre = nn::Embedding::from_pretrained(
      w.detach(), nn::EmbeddingFromPretrainedOptions().freeze(false).scale_grad_by_freq(true).max_norm(100.0));
  CHECK(pre->options.scale_grad_by_freq());
  CHECK(*pre->options.max_norm() == 100.0);
  agt::check_values(grad({sum(pre(tokens))}, {pre->weight})[0], {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1});
}

TEST_CASE(
    "embedding scale_grad_by_freq: first and second derivatives are the gradchecked plain ones divided by the counts") {
  // The scaled gradient is deliberately not the derivative (as PyTorch's), so finite differences
  // cannot check it: it is checked against the plain lookup's, itself gradchecked to second order.
  // The second derivative is PyTorch's: the derivative of the scaled gradient is taken as if the
  // gradient were not scaled (embedding's double backward ignores scale_grad_by_freq), so
  // grad(sum(gs v)) = grad(sum(gp v / counts)); checked against torch 1.13 by hand.
  const Tensor w = agt::input({5, 3}), u = agt::input({2, 4, 3}, 1.0, 0.7, 0.2, false);
  const Tensor tokens = idx({1, 4, 1, 0, 4, 1, 1, 2}, {2, 4});
  const Tensor counts = f64({1, 4, 1, 1, 2}, {5, 1});  // rows 0..4; row 3 is not read
  const auto f = [&](const Tensor& weight, bool scaled) {
    return sum(pow(F::embedding(tokens, weight, F::EmbeddingFuncOptions().scale_grad_by_freq(scaled)), 3.0) * u);
  };
  agt::check_both_orders([&](const std::vector<Tensor>& v) { return f(v[0], false); }, {w});
  const Tensor gs = grad({f(w, true)}, {w}, {}, std::nullopt, /*create_graph=*/true)[0];
  const Tensor gp = grad({f(w, false)}, {w}, {}, std::nullopt, /*create_graph=*/true)[0];
  agt::check_values(gs, (gp / counts).to_vector<double>(), 1e-13);
  const Tensor v = agt::input({5, 3}, 2.0, 1.0, 0.1, false);
  const Tensor hs = grad({sum(gs * v)}, {w})[0];
  const Tensor hp = grad({sum(gp * (v / counts))}, {w})[0];
  agt::check_values(hs, hp.to_vector<double>(), 1e-13);
  // max_norm large enough that no row is rescaled: the lookup itself, gradchecked.
  // (With rows being rescaled the function changes its own input, as PyTorch's, and has no
  // finite-difference gradient; parity below checks that case.)
  agt::check_both_orders(
      [&](const std::vector<Tensor>& x) {
        return pow(F::embedding(tokens, x[0], F::EmbeddingFuncOptions().max_norm(1e3)), 2.0);
      },
      {w});
}

TEST_CASE("embedding options parity: every embedding_option_cases entry has a lambda and every lambda an entry") {
  agt::parity::check_coverage("embedding_option_cases", option_cases(), 9);
}

TEST_CASE("embedding options parity: values, gradients and the renormalised weight match PyTorch (float64)") {
  for (const auto& c : agt::parity::reference().at("embedding_option_cases")) {
    weight_after() = Tensor();
    agt::parity::run_case(c, option_cases());
    const std::string name = c.at("name");
    REQUIRE(weight_after().defined());
    agt::parity::check_close(weight_after(), c.at("buffers").at("weight"), name + " weight after");
  }
}

TEST_CASE("embedding options misuse: sparse(true) and a bad norm_type are ag::Errors; the weight is untouched") {
  CHECK(agt::error_message([] {
          nn::EmbeddingOptions(3, 2).sparse(true);
        }).find("EmbeddingOptions: sparse(true) is not supported: this library has no sparse tensors") !=
        std::string::npos);
  CHECK(agt::error_message([] {
          nn::EmbeddingFromPretrainedOptions().sparse(true);
        }).find("EmbeddingFromPretrainedOptions: sparse(true) is not supported") != std::string::npos);
  CHECK(agt::error_message([] {
          F::EmbeddingFuncOptions().sparse(true);
        }).find("EmbeddingFuncOptions: sparse(true) is not supported") != std::string::npos);
  CHECK_FALSE(nn::EmbeddingOptions(3, 2).sparse(false).sparse());  // sparse(false) is accepted

  const Tensor w = f64({3, 4, 6, 8, 0.1, 0.2}, {3, 2}).requires_grad_(true);
  const auto before = w.to_vector<double>();
  CHECK(error_recording_nothing([&] {
          F::embedding(idx({0, 1}, {2}), w, F::EmbeddingFuncOptions().max_norm(1.0).norm_type(0.0));
        }).find("embedding: norm_type must be positive (or infinity) with max_norm, got 0") != std::string::npos);
  // An index out of range: no row is renormalised, not even the ones before it.
  CHECK(error_recording_nothing([&] {
          F::embedding(idx({0, 1, 3}, {3}), w, F::EmbeddingFuncOptions().max_norm(1.0));
        }).find("index 3 out of range for num_embeddings 3") != std::string::npos);
  CHECK(w.to_vector<double>() == before);
  CHECK(agt::error_message([] {
          nn::Embedding(nn::EmbeddingOptions(3, 2).max_norm(1.0).norm_type(-1.0));
        }).find("Embedding: norm_type must be positive (or infinity) with max_norm, got -1") != std::string::npos);
}

TEST_CASE("embedding_bag options: max_norm, scale_grad_by_freq (sum, mean; an error with max), sparse, the module") {
  const Tensor w = f64({3, 4, 0.3, 0.4, 6, 8}, {3, 2}).requires_grad_(true);
  const auto o = F::EmbeddingBagFuncOptions().mode(nn::EmbeddingBagMode::Sum).max_norm(1.0).scale_grad_by_freq(true);
  const Tensor out =
      F::embedding_bag(idx({0, 1, 0, 1, 1}, {5}), w, F::EmbeddingBagFuncOptions(o).offsets(idx({0, 3}, {2})));
  const double s0 = 1.0 / (5 + 1e-7);
  agt::check_values(w.detach(), {3 * s0, 4 * s0, 0.3, 0.4, 6, 8}, 1e-15);  // row 2 not read
  agt::check_values(out, {6 * s0 + 0.3, 8 * s0 + 0.4, 0.6, 0.8}, 1e-15);
  // Row 0 is read twice, row 1 three times: each gets 1 per unit of output.
  agt::check_values(grad({sum(F::embedding_bag(idx({0, 1, 0, 1, 1}, {5}), w,
                                               F::EmbeddingBagFuncOptions(o).offsets(idx({0, 3}, {2}))))},
                         {w})[0],
                    {1, 1, 1, 1, 0, 0});
  CHECK(agt::error_message([&] {
          F::embedding_bag(idx({0, 1}, {1, 2}), w,
                           F::EmbeddingBagFuncOptions().mode(nn::EmbeddingBagMode::Max).scale_grad_by_freq(true));
        }).find("embedding_bag: mode max does not support scaling the gradient by the frequency") != std::string::npos);
  CHECK(agt::error_message([] {
          nn::EmbeddingBagOptions(3, 2).sparse(true);
        }).find("EmbeddingBagOptions: sparse(true) is not supported") != std::string::npos);
  CHECK(agt::error_message([] {
          F::EmbeddingBagFuncOptions().sparse(true);
        }).find("EmbeddingBagFuncOptions: sparse(true) is not supported") != std::string::npos);
  CHECK(agt::error_message([] {
          nn::EmbeddingBag(nn::EmbeddingBagOptions(3, 2).max_norm(1.0).norm_type(0.0));
        }).find("EmbeddingBag: norm_type must be positive (or infinity) with max_norm, got 0") != std::string::npos);

  nn::EmbeddingBag bag(nn::EmbeddingBagOptions(3, 2)
                           .mode(nn::EmbeddingBagMode::Mean)
                           .max_norm(2.0)
                           .scale_grad_by_freq(true)
                           ._weight(f64({3, 4, 0.3, 0.4, 6, 8}, {3, 2})));
  const Tensor y = bag(idx({2, 2, 1, 2}, {2, 2}));
  agt::check_values(bag->weight.detach(), {3, 4, 0.3, 0.4, 6 * 2 / (10 + 1e-7), 8 * 2 / (10 + 1e-7)}, 1e-15);
  // grad of sum(mean): 1/2 per entry; row 2 (3 entries) divided by 3, row 1 (once) as is.
  agt::check_values(grad({sum(y)}, {bag->weight})[0], {0, 0, 0.5, 0.5, 0.5, 0.5}, 1e-15);
}
